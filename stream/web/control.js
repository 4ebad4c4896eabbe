// camd control: speaks camd's control protocol (docs/control.md) on two
// DataChannels of the viewer's RTCPeerConnection, and renders the controls
// the configured hardware offers into <section id="controls">: the lease,
// the drone (keyboard, gamepad, takeoff/land/emergency, telemetry, failsafe
// events) and the serial bridge (named commands, a small terminal).
//
// Use: CamdControl.attach(pc, { onState }) right after creating the
// RTCPeerConnection and before createOffer(): it creates the channels, so
// the offer carries an application section for them. onState(state) is
// called whenever something changes; CamdControl.state is the latest.
//
// Keys while holding the lease (layout-independent codes):
//   W / S  forward / back (pitch)     A / D  left / right (roll)
//   ← / →  turn left / right (yaw)    ↑ / ↓ or Space / Shift  up / down
// Gamepad (standard mapping, "mode 2"): left stick throttle and yaw, right
// stick pitch and roll.
"use strict";

(() => {
  const PROTOCOL = 1;
  const STICK_MS = 50; // 20 Hz, zeros included, while holding the lease
  const PING_MS = 5000;
  const KEY_SPEED = 50; // stick value a key gives, of 100
  const DEADZONE = 0.12; // gamepad axes below this count as centred
  const TERM_LINES = 200;
  const EVENTS_SHOWN = 5;
  const FAILSAFE = new Set(["hover", "controller-lost", "battery-low", "battery-critical",
    "link-lost", "shutdown", "command-failed", "emergency"]);
  // code → [axis, sign]
  const KEYS = {
    KeyW: ["pitch", 1], KeyS: ["pitch", -1], KeyA: ["roll", -1], KeyD: ["roll", 1],
    ArrowLeft: ["yaw", -1], ArrowRight: ["yaw", 1], ArrowUp: ["throttle", 1], ArrowDown: ["throttle", -1],
    Space: ["throttle", 1], ShiftLeft: ["throttle", -1], ShiftRight: ["throttle", -1],
  };

  const pressed = new Set();
  let current = null; // the attached session, see attach()

  addEventListener("keydown", (e) => onKey(e, true));
  addEventListener("keyup", (e) => onKey(e, false));
  addEventListener("blur", () => pressed.clear()); // a key released elsewhere must not stick
  document.addEventListener("visibilitychange", () => pressed.clear());

  function onKey(e, down) {
    if (!KEYS[e.code] || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName || "")) return;
    if (down) pressed.add(e.code); else pressed.delete(e.code);
    if (current && current.state.you && current.state.hardware?.drone) e.preventDefault();
  }

  // The sticks now: the gamepad's axes where they are off centre, else keys.
  function sticks() {
    const s = { roll: 0, pitch: 0, throttle: 0, yaw: 0 };
    for (const code of pressed) {
      const [axis, sign] = KEYS[code];
      s[axis] = Math.max(-100, Math.min(100, s[axis] + sign * KEY_SPEED));
    }
    const pad = [...(navigator.getGamepads?.() || [])].find((g) => g && g.connected && g.mapping === "standard");
    if (pad) {
      const ax = (i, sign) => (Math.abs(pad.axes[i] || 0) < DEADZONE ? null : Math.round(sign * pad.axes[i] * 100));
      for (const [axis, v] of [["yaw", ax(0, 1)], ["throttle", ax(1, -1)], ["roll", ax(2, 1)], ["pitch", ax(3, -1)]]) {
        if (v !== null) s[axis] = Math.max(-100, Math.min(100, v));
      }
    }
    return s;
  }

  function attach(pc, opts = {}) {
    if (current) current.close();
    const ctl = pc.createDataChannel("control");
    const stk = pc.createDataChannel("stick", { ordered: false, maxRetransmits: 0 });
    const s = {
      ctl, stk, seq: 0, timers: [], closed: false,
      state: {
        open: false, viewer: null, control: false, hardware: null, holder: null, holderName: "",
        you: false, telemetry: null, events: [], serial: null, error: "", rttMs: null, clockOffsetMs: null,
      },
      close() {
        if (s.closed) return;
        s.closed = true;
        s.timers.forEach(clearInterval);
        Object.assign(s.state, { open: false, you: false });
        if (current === s) {
          current = null;
          if (root()) root().hidden = true;
        }
        changed(s);
      },
    };
    s.onState = opts.onState || (() => {});
    current = s;
    for (const dc of [ctl, stk]) {
      dc.binaryType = "arraybuffer";
      dc.onmessage = (e) => onMessage(s, e.data);
    }
    ctl.onopen = () => {
      s.state.open = true;
      const name = localStorage.getItem("camd.name") || undefined;
      send(s, { type: "hello", name });
      send(s, { type: "ping", t: Date.now() }); // the clock offset, early
      changed(s);
    };
    ctl.onclose = () => s.close();
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "closed" || pc.connectionState === "failed") s.close();
    });
    s.timers.push(setInterval(() => tickSticks(s), STICK_MS));
    s.timers.push(setInterval(() => send(s, { type: "ping", t: Date.now() }, true), PING_MS));
    return s;
  }

  // send sends one message; fast=true prefers the unordered stick channel.
  function send(s, msg, fast = false) {
    const dc = fast && s.stk.readyState === "open" ? s.stk : s.ctl;
    if (s.closed || dc.readyState !== "open") return false;
    dc.send(JSON.stringify({ v: PROTOCOL, ...msg }));
    return true;
  }

  function tickSticks(s) {
    if (!s.state.you || !s.state.hardware?.drone) return;
    send(s, { type: "stick", ...sticks(), seq: s.seq++ }, true);
  }

  function onMessage(s, data) {
    if (s.closed) return;
    let m;
    try {
      m = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data));
    } catch {
      return;
    }
    const st = s.state;
    switch (m.type) {
      case "welcome":
        st.viewer = m.viewer;
        st.control = m.control;
        st.hardware = m.hardware;
        st.serial = m.hardware.serial ? { port: m.hardware.serial.port, connected: m.hardware.serial.connected, lines: [] } : null;
        render(s);
        break;
      case "lease.state":
        st.holder = m.holder;
        st.holderName = m.name || "";
        if (m.you && !st.you) s.seq = 0; // a new lease counts again
        st.you = !!m.you;
        break;
      case "telemetry":
        st.telemetry = m;
        break;
      case "event":
        st.events = [{ ...m, local: new Date() }, ...st.events].slice(0, EVENTS_SHOWN);
        break;
      case "serial.status":
        if (st.serial) Object.assign(st.serial, { port: m.port, connected: m.connected, error: m.error || "" });
        break;
      case "serial.data":
        if (st.serial) {
          st.serial.lines.push(m.text ?? [...atob(m.data)].map((c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join(""));
          st.serial.lines.splice(0, st.serial.lines.length - TERM_LINES);
        }
        break;
      case "pong": {
        const now = Date.now();
        st.rttMs = now - m.t;
        st.clockOffsetMs = m.time - (m.t + now) / 2;
        break;
      }
      case "error":
        st.error = `${m.re ? m.re + ": " : ""}${m.msg}`;
        clearTimeout(s.errorTimer);
        s.errorTimer = setTimeout(() => { st.error = ""; changed(s); }, 6000);
        break;
      default:
        return;
    }
    changed(s);
  }

  function changed(s) {
    update(s);
    CamdControl.state = s.state;
    try {
      s.onState(s.state);
    } catch (err) {
      console.error("CamdControl onState:", err);
    }
  }

  // ---- rendering -------------------------------------------------------------
  const root = () => document.getElementById("controls");
  const el = (tag, props = {}, ...kids) => {
    const e = Object.assign(document.createElement(tag), props);
    e.append(...kids);
    return e;
  };

  // render builds the panel for the hardware in the welcome; update fills it.
  function render(s) {
    const sec = root();
    if (!sec || s !== current) return;
    injectStyle();
    const hw = s.state.hardware || {};
    const ui = (s.ui = {});
    sec.replaceChildren();
    sec.hidden = !hw.drone && !hw.serial;
    ui.holder = el("span", { className: "cc-holder" });
    ui.lease = el("button", { type: "button", onclick: () => send(s, { type: s.state.you ? "lease.release" : "lease.request" }) });
    ui.error = el("div", { className: "cc-error", role: "alert" });
    sec.append(el("div", { className: "cc-row" }, ui.holder, ui.lease), ui.error);
    ui.needLease = [];
    const btn = (label, onclick, className = "") => {
      const b = el("button", { type: "button", textContent: label, onclick, className });
      ui.needLease.push(b);
      return b;
    };
    if (hw.drone) {
      ui.tele = el("div", { className: "cc-tele" });
      ui.events = el("ul", { className: "cc-events" });
      sec.append(el("div", { className: "cc-drone" },
        el("div", { className: "cc-row" },
          btn("Take off", () => confirm("Take off?") && send(s, { type: "drone.takeoff" })),
          btn("Land", () => send(s, { type: "drone.land" })),
          btn("Emergency", () => confirm("Emergency stop: the motors stop at once and the drone falls. Stop?") &&
            send(s, { type: "drone.emergency" }), "cc-danger")),
        ui.tele,
        el("div", { className: "cc-help", textContent: "W/S A/D move · ←/→ turn · ↑/↓ or Space/Shift up/down · gamepad" }),
        ui.events));
    }
    if (hw.serial) {
      ui.sstatus = el("div", { className: "cc-sstatus" });
      const cmds = el("div", { className: "cc-row cc-cmds" });
      for (const c of hw.serial.commands) {
        if (!c.n) {
          cmds.append(btn(c.label, () => send(s, { type: "serial.cmd", name: c.name })));
          continue;
        }
        const n = el("input", { type: "number", min: c.min, max: c.max, step: 1, value: Math.max(c.min, Math.min(c.max, 0)) });
        ui.needLease.push(n);
        cmds.append(el("span", { className: "cc-cmd" }, n,
          btn(c.label, () => send(s, { type: "serial.cmd", name: c.name, n: Math.round(Number(n.value)) }))));
      }
      ui.term = el("pre", { className: "cc-term" });
      const input = el("input", { type: "text", placeholder: "send to the port (Enter; \\n added)", autocomplete: "off" });
      ui.needLease.push(input);
      const form = el("form", {
        onsubmit: (e) => {
          e.preventDefault();
          if (send(s, { type: "serial.send", text: input.value + "\n" })) input.value = "";
        },
      }, input, btn("Send", null));
      form.lastChild.type = "submit";
      sec.append(el("div", { className: "cc-serial" }, ui.sstatus, cmds, ui.term, form));
    }
    update(s);
  }

  function update(s) {
    const ui = s.ui;
    if (!ui || !root() || s !== current) return; // an old session draws nothing
    const st = s.state;
    ui.holder.textContent = st.you ? "You have control" :
      st.holder ? `${st.holderName || st.holder} has control` : "Nobody has control";
    ui.lease.textContent = st.you ? "Release" : "Take control";
    ui.lease.disabled = !st.control || (!!st.holder && !st.you);
    ui.lease.title = st.control ? "" : "this viewer may watch but not control";
    ui.error.textContent = st.error;
    for (const e of ui.needLease) e.disabled = !st.you;
    if (ui.tele) {
      const t = st.telemetry;
      const v = (k, unit = "") => (t && t[k] !== undefined ? `${t[k]}${unit}` : "–");
      ui.tele.textContent = t ?
        `${t.phase} · battery ${v("bat", "%")} · height ${v("h", " cm")} · pitch/roll/yaw ${v("pitch")}/${v("roll")}/${v("yaw")}° · ` +
        `Wi-Fi ${t.wifi >= 0 ? t.wifi : "–"}${t.age_ms > 1000 ? ` · telemetry ${Math.round(t.age_ms / 1000)} s old` : ""}` :
        "no telemetry yet";
      ui.tele.classList.toggle("cc-warn", !!t && t.bat !== undefined && t.bat < 20);
      ui.events.replaceChildren(...st.events.map((e) => el("li", {
        className: FAILSAFE.has(e.kind) ? "cc-warn" : "",
        textContent: `${e.local.toLocaleTimeString()} ${e.kind}${e.battery ? ` ${e.battery}%` : ""}` +
          `${e.command ? ` (${e.command})` : ""}${e.error ? `: ${e.error}` : ""}`,
      })));
    }
    if (ui.term && st.serial) {
      const sr = st.serial;
      ui.sstatus.textContent = `${sr.port}: ${sr.connected ? "connected" : "disconnected"}${sr.error ? ` (${sr.error})` : ""}`;
      ui.sstatus.classList.toggle("cc-warn", !sr.connected);
      const atEnd = ui.term.scrollTop + ui.term.clientHeight >= ui.term.scrollHeight - 4;
      ui.term.textContent = sr.lines.join("\n");
      if (atEnd) ui.term.scrollTop = ui.term.scrollHeight;
    }
  }

  function injectStyle() {
    if (document.getElementById("cc-style")) return;
    document.head.append(el("style", {
      id: "cc-style",
      textContent: `
#controls { max-width: min(420px, calc(100vw - 16px)); padding: 8px; border-radius: 6px;
  background: rgba(0,0,0,.6); color: #e8e8e8; font-size: 13px; display: grid; gap: 6px; }
#controls .cc-row { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
#controls button { font: inherit; padding: 4px 10px; border-radius: 4px; border: 1px solid #666;
  background: #2a2a2a; color: inherit; cursor: pointer; }
#controls button:disabled, #controls input:disabled { opacity: .45; cursor: default; }
#controls .cc-danger { background: #8b1d1d; border-color: #c33; }
#controls .cc-warn { color: #f5c542; }
#controls .cc-error { color: #ff6b6b; } #controls .cc-error:empty { display: none; }
#controls .cc-help { opacity: .7; font-size: 12px; }
#controls .cc-events { margin: 0; padding-left: 16px; font-size: 12px; }
#controls .cc-cmd input { width: 64px; }
#controls input { font: inherit; background: #111; color: inherit; border: 1px solid #555; border-radius: 4px; padding: 3px 5px; }
#controls form { display: flex; gap: 6px; } #controls form input { flex: 1; }
#controls .cc-term { margin: 0; height: 8em; overflow: auto; background: #111; padding: 4px;
  font: 12px/1.3 ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-all; }`,
    }));
  }

  window.CamdControl = { attach, state: null };
})();
