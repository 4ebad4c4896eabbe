// camd viewer: plays the camera over WHEP (draft-ietf-wish-whep), shows live
// stats, and measures glass-to-glass latency from the block code that the
// test pattern stamps on every frame (read by blockcode.js).
//
// Test hooks, read by camd's browser end-to-end tests; keep them stable.
// window.camd = {
//   state: "connecting" | "live" | "reconnecting" | "unauthorized" (camd
//          refused the token, or there was none: the page stops trying),
//   stats: {
//     width, height, fps, bitrateKbps  decoded size, frame rate, received rate
//     packetsLost, framesDecoded, freezeCount, totalFreezesDuration (s)
//                                      inbound-rtp of the current session
//     rttMs                            ICE candidate-pair RTT, or null
//     latencyMs       median glass-to-glass latency of the last second; null
//                     when no code was read for 2 s (the source is no pattern)
//     latencySamples  recent per-frame latencies in ms, at most 1000
//     firstFrameMs    ms from navigation start to the first frame shown
//     reconnects      sessions torn down and started again
//     iceRestarts     ICE restarts that kept the session (network changes) },
//   pc: the current RTCPeerConnection, or null between sessions,
//   snapshot(): a promise of an object URL of the latest picture (JPEG),
//               fetched with the token }
"use strict";

(() => {
  // URLs are relative so that a reverse proxy may mount camd under a path.
  const WHEP_URL = "whep";
  const TIME_URL = "api/time";
  const STATUS_URL = "api/status";
  const PEERS_URL = "api/peers";
  const SNAPSHOT_URL = "snapshot.jpg";
  // The offer goes out at once and candidates follow by PATCH (trickle):
  // waiting for gathering to complete cost ~130 ms of the first frame, and
  // camd's answer carries its own candidates, so checks start right away.
  const ICE_GATHER_CAP_MS = 0;
  const CONNECT_TIMEOUT_MS = 10000; // no first frame by then: start again
  const DISCONNECT_GRACE_MS = 3000;
  const RESTART_GRACE_MS = 5000;
  const STALL_MS = 3000;
  const NO_CODE_MS = 2000;
  const CLOCK_SYNC_MS = 30000;
  const STATUS_POLL_MS = 5000;
  const MAX_SAMPLES = 1000;
  const UNAUTHORIZED = "this camera needs its access link; run `camd token` on it";
  const TOKEN_KEY = "camd.token";

  const $ = (id) => document.getElementById(id);
  const video = $("video");

  // The access token comes in the link's fragment ("#token=…"), which the
  // browser never sends to a server. The page keeps it in localStorage, so
  // that this browser opens the camera later without the link (the storage
  // belongs to this camera's origin alone), and takes it out of the address
  // bar, so it does not end up in a screenshot, a bookmark or a shared URL.
  let token = null;
  try {
    const fromLink = new URLSearchParams(location.hash.slice(1)).get("token");
    if (fromLink) {
      localStorage.setItem(TOKEN_KEY, fromLink);
      history.replaceState(null, "", location.pathname + location.search);
    }
    token = fromLink || localStorage.getItem(TOKEN_KEY);
  } catch (err) {
    // Storage disabled (some private modes): keep the link's token in memory.
    token = new URLSearchParams(location.hash.slice(1)).get("token");
  }

  // camd refused the token: it changed, or it was mistyped. Forget it, so
  // that the polls do not count as more wrong guesses, and so that the next
  // link opened here starts clean.
  function forgetToken() {
    const had = token !== null;
    token = null;
    try { localStorage.removeItem(TOKEN_KEY); } catch (err) { /* storage disabled */ }
    return had;
  }

  const camd = {
    state: "connecting",
    stats: {
      width: 0, height: 0, fps: 0, bitrateKbps: 0, packetsLost: 0,
      framesDecoded: 0, freezeCount: 0, totalFreezesDuration: 0, rttMs: null,
      latencyMs: null, latencySamples: [], firstFrameMs: null, reconnects: 0,
      iceRestarts: 0,
    },
    pc: null,
    // Milestones of the first session, in ms since navigation start: where
    // the time to first frame goes (start, offer, posted, answered,
    // connected, firstFrame).
    timing: {},
  };
  window.camd = camd;
  const mark = (name) => { if (!(name in camd.timing)) camd.timing[name] = performance.now(); };

  let session = null; // the current WHEP session, see connect()
  let attempt = 0; // failed attempts since the last live session, for backoff
  let problem = ""; // why the last session ended, shown in the banner
  let clockOffsetMs = 0; // server clock minus local clock
  let server = {}; // last /api/status
  let decoder = "";
  let jitterMs = null;
  const latency = { recent: [], lastCodeAt: -Infinity, lastSeq: null, rect: null };
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });

  // Every request carries the token from "#token=…" when there is one. The
  // token never goes into a log or onto the page.
  function headers(extra = {}) {
    return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
  }

  // ---- WHEP session --------------------------------------------------------
  async function connect() {
    mark("start");
    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
    // The control channels go into the offer with the video (control.js).
    globalThis.CamdControl?.attach(pc);
    const now = performance.now();
    const s = {
      pc, resource: null, etag: null, stream: null, posted: false, closed: false,
      live: false, trickle: [], disconnectTimer: 0, startedAt: now, progressAt: now, prev: null,
    };
    session = s;
    camd.pc = pc;
    preferH264(pc.addTransceiver("video", { direction: "recvonly" }));
    pc.ontrack = (ev) => attach(s, ev);
    pc.onicecandidate = (ev) => onCandidate(s, ev.candidate);
    pc.onconnectionstatechange = () => onConnectionState(s);
    try {
      await pc.setLocalDescription(await pc.createOffer());
      mark("offer");
      await gathered(pc, ICE_GATHER_CAP_MS);
      // The browser adds a candidate to localDescription and fires its
      // icecandidate event in one task, so every candidate whose event comes
      // after this line is missing from the offer and must be trickled.
      const offer = pc.localDescription.sdp;
      s.posted = true;
      mark("posted");
      const res = await fetch(WHEP_URL, {
        method: "POST", headers: headers({ "Content-Type": "application/sdp" }), body: offer,
      });
      if (res.status === 401 || res.status === 403) {
        // A stale token: try once without it, which plays where anyone may
        // watch (auth.view = "open") and otherwise ends in the message.
        throw new Error(forgetToken() ? "the access link is no longer valid" : UNAUTHORIZED);
      }
      if (res.status !== 201) throw new Error(`WHEP answered ${res.status}`);
      const loc = res.headers.get("Location");
      s.resource = loc ? new URL(loc, res.url).href : null; // Location is relative
      s.etag = res.headers.get("ETag");
      const answer = await res.text();
      mark("answered");
      if (s.closed) return remove(s); // torn down while the POST was in flight
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
      sendTrickle(s);
    } catch (err) {
      restart(s, err.message || String(err));
    }
  }

  // Offer H.264 only (packetization-mode=1, constrained baseline 42e01f first)
  // so the browser cannot pick a codec camd does not send. Browsers without
  // H.264 or without setCodecPreferences offer their defaults.
  function preferH264(transceiver) {
    if (!transceiver.setCodecPreferences || !RTCRtpReceiver.getCapabilities) return;
    const codecs = RTCRtpReceiver.getCapabilities("video")?.codecs || [];
    const of = (mime) => codecs.filter((c) => c.mimeType.toLowerCase() === mime);
    const rank = (c) => (/packetization-mode=1/.test(c.sdpFmtpLine) ? 0 : 2) +
      (/profile-level-id=42e01f/i.test(c.sdpFmtpLine) ? 0 : 1);
    const h264 = of("video/h264").sort((a, b) => rank(a) - rank(b));
    if (!h264.length) return;
    try {
      // RTX lets lost packets be resent when the server supports it.
      transceiver.setCodecPreferences([...h264, ...of("video/rtx")]);
    } catch (err) {
      // Some browsers reject certain lists; their default offer still works.
    }
  }

  // Resolves when ICE gathering completes or after capMs, whichever is first.
  function gathered(pc, capMs) {
    return new Promise((resolve) => {
      const check = () => pc.iceGatheringState === "complete" && resolve();
      pc.addEventListener("icegatheringstatechange", check);
      setTimeout(resolve, capMs);
      check();
    });
  }

  function onCandidate(s, cand) {
    if (!s.posted || s.closed) return; // still going into the offer
    // A null (or empty) candidate means gathering finished.
    s.trickle.push(cand?.candidate ? `a=${cand.candidate}` : "a=end-of-candidates");
    sendTrickle(s);
  }

  // PATCH late candidates as an SDP fragment (RFC 8840): ICE credentials,
  // the media line and its mid, then the candidate lines.
  function sendTrickle(s) {
    if (!s.resource || !s.trickle.length || s.closed || s.restarting) return;
    const sdp = s.pc.localDescription.sdp;
    const line = (re) => (sdp.match(re) || [""])[0];
    const body = [
      line(/^a=ice-ufrag:.*$/m), line(/^a=ice-pwd:.*$/m), line(/^m=.*$/m), line(/^a=mid:.*$/m),
      ...s.trickle.splice(0),
    ].join("\r\n") + "\r\n";
    const h = { "Content-Type": "application/trickle-ice-sdpfrag" };
    if (s.etag) h["If-Match"] = s.etag;
    // A lost late candidate is not fatal: the offer held the host candidates.
    fetch(s.resource, { method: "PATCH", headers: headers(h), body }).catch(() => {});
  }

  function attach(s, ev) {
    s.stream = ev.streams[0] || new MediaStream([ev.track]);
    if (video.srcObject !== s.stream) video.srcObject = s.stream;
    video.play().catch(() => {}); // muted autoplay is allowed; else a tap retries
  }

  function onConnectionState(s) {
    if (s !== session) return;
    const st = s.pc.connectionState;
    if (st === "connected") mark("connected");
    clearTimeout(s.disconnectTimer);
    if (st === "closed") restart(s, "connection closed");
    if (st === "failed") iceRestart(s, "connection failed");
    // "disconnected" often heals by itself (Wi-Fi roaming); give it a moment.
    if (st === "disconnected") {
      s.disconnectTimer = setTimeout(() => iceRestart(s, "connection lost"), DISCONNECT_GRACE_MS);
    }
  }

  // When the network changes under a live session (Wi-Fi to cellular, a new
  // address), an ICE restart through WHEP PATCH (RFC 9725 §4.4.2) keeps the
  // session and the decoder: no new session, no black screen. A full
  // reconnect is the fallback.
  async function iceRestart(s, why) {
    if (s !== session || s.closed || s.restarting) return;
    if (!s.resource || !s.live) return restart(s, why);
    s.restarting = true;
    s.progressAt = performance.now(); // the stall clock waits for the restart
    try {
      await s.pc.setLocalDescription(await s.pc.createOffer({ iceRestart: true }));
      const ice = /^(a=ice-ufrag:|a=ice-pwd:|a=ice-options:|m=|a=mid:|a=candidate:)/;
      const body = s.pc.localDescription.sdp.split(/\r?\n/).filter((l) => ice.test(l)).join("\r\n") + "\r\n";
      const res = await fetch(s.resource, {
        method: "PATCH",
        headers: headers({ "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": "*" }),
        body,
      });
      if (res.status !== 200) throw new Error(`ICE restart answered ${res.status}`);
      s.etag = res.headers.get("ETag") || s.etag;
      const frag = await res.text();
      const ufrag = (frag.match(/^a=ice-ufrag:.*$/m) || [])[0];
      const pwd = (frag.match(/^a=ice-pwd:.*$/m) || [])[0];
      if (!ufrag || !pwd) throw new Error("ICE restart answer without credentials");
      // The new answer is the old one with camd's new credentials and candidates.
      const keep = s.pc.remoteDescription.sdp.split(/\r?\n/)
        .filter((l) => l && !/^a=(candidate:|end-of-candidates)/.test(l))
        .map((l) => (l.startsWith("a=ice-ufrag:") ? ufrag : l.startsWith("a=ice-pwd:") ? pwd : l));
      // Candidates belong in the first (BUNDLE-tagged) media section; the
      // browser ignores them in a bundled one.
      const cands = [...(frag.match(/^a=candidate:.*$/gm) || []), "a=end-of-candidates"];
      const second = keep.findIndex((l, i) => i > 0 && l.startsWith("m=") && keep.slice(0, i).some((x) => x.startsWith("m=")));
      keep.splice(second < 0 ? keep.length : second, 0, ...cands);
      const sdp = keep.join("\r\n") + "\r\n";
      await s.pc.setRemoteDescription({ type: "answer", sdp });
      camd.stats.iceRestarts++;
      // Give the new ICE session a few seconds, then start over.
      s.disconnectTimer = setTimeout(() => {
        if (s.pc.connectionState !== "connected") restart(s, `${why}; ICE restart did not help`);
      }, RESTART_GRACE_MS);
    } catch (err) {
      restart(s, `${why}; ${err.message || err}`);
    } finally {
      s.restarting = false;
      sendTrickle(s); // candidates gathered meanwhile carry the new credentials
    }
  }

  // DELETE ends the session on the server; keepalive lets it outlive the page.
  function remove(s) {
    if (s.resource) fetch(s.resource, { method: "DELETE", headers: headers(), keepalive: true }).catch(() => {});
    s.resource = null;
  }

  function teardown(s) {
    s.closed = true;
    clearTimeout(s.disconnectTimer);
    s.pc.close(); // close() fires no connectionstatechange
    remove(s);
    if (session === s) [session, camd.pc] = [null, null];
  }

  // Backoff: 0.5 s, 1 s, 2 s, 4 s, then 5 s until a session goes live.
  function restart(s, why) {
    if (s !== session) return; // an old session, already replaced
    teardown(s);
    problem = why;
    if (why === UNAUTHORIZED) {
      // Trying again will not help: the person needs the access link.
      camd.state = "unauthorized";
      render();
      return;
    }
    camd.state = "reconnecting";
    camd.stats.reconnects++;
    setTimeout(connect, Math.min(500 * 2 ** attempt++, 5000));
    render();
  }

  function goLive(s) {
    if (!s || s.live) return;
    s.live = true;
    attempt = 0;
    problem = "";
    camd.state = "live";
    render();
    pollStatus(); // the viewer count now includes this page
  }

  // ---- frames and latency --------------------------------------------------
  function onFirstFrame() {
    if (camd.stats.firstFrameMs === null) camd.stats.firstFrameMs = performance.now();
    mark("firstFrame");
    if (session && video.srcObject === session.stream) goLive(session);
  }

  // requestVideoFrameCallback runs once per frame shown; requestAnimationFrame
  // (the fallback) runs once per screen refresh, so repeats are dropped by seq.
  function scheduleFrame() {
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onVideoFrame);
    else requestAnimationFrame(onAnimationFrame);
  }

  function onVideoFrame(now, meta) {
    onFirstFrame();
    // expectedDisplayTime is when the frame reaches the screen: the "glass".
    readCode(meta?.expectedDisplayTime || performance.now());
    scheduleFrame();
  }

  function onAnimationFrame() {
    if (video.readyState >= 2) readCode(performance.now()); // HAVE_CURRENT_DATA
    scheduleFrame();
  }

  // Draws only the code's rectangle, reads it, and records capture-to-display
  // time in the server's clock.
  function readCode(shownAt) {
    const bc = globalThis.CamdBlockcode;
    const [w, h] = [video.videoWidth, video.videoHeight];
    if (!bc || !w || !h || !ctx) return;
    let code;
    try {
      if (!latency.rect || latency.rect.vw !== w || latency.rect.vh !== h) {
        const r = bc.rect(w, h);
        if (!r) return; // frame too small to carry a code
        // The reader wants the frame's top-left corner up to the code's far
        // edge (the code sits inside a margin), at the frame's own scale.
        latency.rect = { w: r.x + r.w, h: r.y + r.h, vw: w, vh: h };
        [canvas.width, canvas.height] = [latency.rect.w, latency.rect.h];
      }
      const r = latency.rect;
      ctx.drawImage(video, 0, 0, r.w, r.h, 0, 0, r.w, r.h);
      code = bc.read(ctx.getImageData(0, 0, r.w, r.h), w, h);
    } catch (err) {
      return; // a frame that cannot be read counts as no code
    }
    if (!code || code.seq === latency.lastSeq) return;
    latency.lastSeq = code.seq;
    // The code carries the low 40 bits of the capture time (camd's clock).
    const shownServerMs = performance.timeOrigin + shownAt + clockOffsetMs;
    const ms = shownServerMs - bc.resolve(code.timeMs, shownServerMs);
    latency.lastCodeAt = performance.now();
    latency.recent.push({ t: latency.lastCodeAt, ms });
    const samples = camd.stats.latencySamples;
    samples.push(Math.round(ms * 10) / 10);
    if (samples.length > MAX_SAMPLES) samples.splice(0, samples.length - MAX_SAMPLES);
  }

  function median(xs) {
    const v = [...xs].sort((a, b) => a - b);
    const m = v.length >> 1;
    return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  }

  // Median of the last second; the previous value stays until no code has
  // been seen for NO_CODE_MS, then latency is n/a (null).
  function updateLatency() {
    const now = performance.now();
    latency.recent = latency.recent.filter((x) => now - x.t <= 1000);
    if (latency.recent.length) camd.stats.latencyMs = median(latency.recent.map((x) => x.ms));
    if (now - latency.lastCodeAt > NO_CODE_MS) camd.stats.latencyMs = null;
  }

  // ---- clock and status ----------------------------------------------------
  // NTP-style offset: the sample with the smallest round trip wins. The local
  // clock is timeOrigin + now (monotonic), which drifts from the wall clock
  // over hours; re-syncing every 30 s absorbs that.
  async function syncClock() {
    let best = null;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.timeOrigin + performance.now();
      const res = await fetch(TIME_URL, { headers: headers(), cache: "no-store" }).catch(() => null);
      const t1 = performance.timeOrigin + performance.now();
      const body = res && res.ok ? await res.json().catch(() => null) : null;
      if (!body || typeof body.now_ms !== "number") return; // keep the previous offset
      if (!best || t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: body.now_ms - (t0 + t1) / 2 };
    }
    clockOffsetMs = best.offset;
  }

  async function snapshot() {
    const res = await fetch(SNAPSHOT_URL, { headers: headers(), cache: "no-store" });
    if (!res.ok) throw new Error(`snapshot: ${res.status} ${(await res.text()).trim()}`);
    return URL.createObjectURL(await res.blob());
  }
  camd.snapshot = snapshot;

  async function pollStatus() {
    const res = await fetch(STATUS_URL, { headers: headers(), cache: "no-store" }).catch(() => null);
    if (res && res.status === 401 && token) forgetToken();
    // When unreachable, keep the last status; the WHEP session reports trouble.
    if (res && res.ok) server = (await res.json().catch(() => null)) || server;
    const name = server.name || server.source?.name || "camd";
    $("name").textContent = name;
    document.title = name === "camd" ? "camd" : `${name} · camd`;
    // An H.264 source is passed through undecoded: no picture to snapshot.
    const snap = $("snapshot");
    if (snap) snap.hidden = server.source?.format === "H264";
    render();
    pollPeers();
  }

  // Other camds on the LAN (DNS-SD, GET /api/peers), as links to their pages.
  async function pollPeers() {
    const res = await fetch(PEERS_URL, { headers: headers(), cache: "no-store" }).catch(() => null);
    const peers = res && res.ok ? await res.json().catch(() => []) : [];
    const nav = $("peers");
    if (!nav || !Array.isArray(peers)) return;
    nav.replaceChildren(...peers.map((p) => {
      const a = document.createElement("a");
      const host = (p.addrs && p.addrs.find((x) => !x.includes(":"))) || p.host;
      a.href = `http://${host}:${p.port}${(p.txt && p.txt.path) || "/"}`;
      a.textContent = p.instance || p.host;
      return a;
    }));
    nav.hidden = peers.length === 0;
  }

  const cameraDown = () => server.camera === "disconnected";

  // ---- stats and health ----------------------------------------------------
  async function tick() {
    const s = session;
    updateLatency();
    if (!s) return render();
    // Before the answer arrives there are no stats, but a hung POST still
    // needs the connect timeout, so health is checked either way.
    const report = s.pc.remoteDescription ? await s.pc.getStats().catch(() => null) : null;
    if (s !== session) return;
    report?.forEach((r) => {
      if (r.type === "inbound-rtp" && (r.kind || r.mediaType) === "video") readInbound(s, r);
    });
    if (report) camd.stats.rttMs = roundTrip(report);
    render();
    await checkHealth(s);
  }

  function readInbound(s, r) {
    const st = camd.stats;
    const prev = s.prev;
    const frames = r.framesDecoded || 0;
    const dt = prev ? (r.timestamp - prev.timestamp) / 1000 : 0;
    st.width = r.frameWidth || video.videoWidth || 0;
    st.height = r.frameHeight || video.videoHeight || 0;
    if (r.framesPerSecond !== undefined) st.fps = r.framesPerSecond;
    else if (dt > 0) st.fps = Math.round(((frames - prev.framesDecoded) / dt) * 10) / 10;
    if (dt > 0) st.bitrateKbps = Math.round(((r.bytesReceived - prev.bytesReceived) * 8) / dt / 1000);
    st.packetsLost = r.packetsLost || 0;
    st.framesDecoded = frames;
    st.freezeCount = r.freezeCount || 0;
    st.totalFreezesDuration = r.totalFreezesDuration || 0;
    jitterMs = r.jitter !== undefined ? r.jitter * 1000 : null;
    decoder = r.decoderImplementation || decoder;
    if (frames > 0) goLive(s);
    if (!prev || frames > prev.framesDecoded) s.progressAt = performance.now();
    s.prev = { timestamp: r.timestamp, framesDecoded: frames, bytesReceived: r.bytesReceived || 0 };
  }

  // The transport names the selected pair; Firefox marks it "selected".
  function roundTrip(report) {
    let pair = null;
    report.forEach((r) => {
      if (r.type === "transport" && r.selectedCandidatePairId) pair = report.get(r.selectedCandidatePairId);
      if (!pair && r.type === "candidate-pair" && r.selected) pair = r;
    });
    return pair?.currentRoundTripTime !== undefined ? pair.currentRoundTripTime * 1000 : null;
  }

  // While the server says the camera is gone, silence is expected: keep the
  // session, so the picture resumes without a new handshake when it returns.
  // A stall is checked against a fresh status first, because the periodic
  // poll may not have seen the camera go yet.
  async function checkHealth(s) {
    const now = performance.now();
    const why = !s.live && now - s.startedAt > CONNECT_TIMEOUT_MS ? "no video"
      : s.live && now - s.progressAt > STALL_MS ? "video stalled" : "";
    if (why && !cameraDown()) await pollStatus();
    if (cameraDown()) s.progressAt = s.startedAt = performance.now();
    // A live session that stalls is most often a network change under it:
    // an ICE restart keeps the session; it falls back to a new one.
    else if (why && s.live) iceRestart(s, why);
    else if (why) restart(s, why);
  }

  // ---- display -------------------------------------------------------------
  function fmt(v, digits, unit) {
    return v === null || v === undefined || Number.isNaN(v) ? "n/a" : `${v.toFixed(digits)} ${unit}`;
  }

  // The state shown to people, and the notice over the video: camd.state,
  // unless something outranks it.
  function label() {
    if (cameraDown()) return ["camera disconnected", "camera disconnected"];
    if (camd.state === "unauthorized") return ["unauthorized", problem];
    if (camd.state === "reconnecting" && problem) return [camd.state, `reconnecting (${problem})…`];
    return [camd.state, `${camd.state}…`];
  }

  function render() {
    const st = camd.stats;
    const [state, notice] = label();
    document.body.dataset.state = state;
    $("state").textContent = state;
    $("banner").hidden = state === "live";
    $("banner").textContent = notice;
    const src = server.source || {};
    const enc = server.encoder || {};
    const lines = [
      `${st.width}×${st.height}  ${fmt(st.fps, 1, "fps")}  ${st.bitrateKbps} kbps`,
      `latency ${fmt(st.latencyMs, 0, "ms")}  rtt ${fmt(st.rttMs, 1, "ms")}`,
      `lost ${st.packetsLost}  jitter ${fmt(jitterMs, 1, "ms")}  freezes ${st.freezeCount}`,
      `decoder ${decoder || "n/a"}  reconnects ${st.reconnects}`,
    ];
    if (src.name || enc.name) {
      const size = src.width ? ` ${src.width}×${src.height}@${src.fps}` : "";
      const rate = enc.bitrate ? ` ${Math.round(enc.bitrate / 1000)} kbps` : "";
      lines.push(`src ${src.name || "?"}${size}  enc ${enc.name || "?"}${rate}`);
    }
    // This viewer's bandwidth estimate in camd and the encoder target.
    const br = server.bitrate;
    if (br) {
      const id = session?.resource?.split("/").pop();
      const me = (server.sessions || []).find((v) => v.id === id);
      const est = me?.estimate_bps ? `${Math.round(me.estimate_bps / 1000)} kbps` : "n/a";
      const below = me?.below_floor ? "  below floor" : "";
      lines.push(`net est ${est}  target ${Math.round(br.target_bps / 1000)} kbps${below}`);
    }
    if (server.viewers !== undefined) lines.push(`viewers ${server.viewers}`);
    $("lines").textContent = lines.join("\n");
  }

  // ---- page wiring ---------------------------------------------------------
  function togglePanel() {
    $("stats").hidden = !$("stats").hidden;
    if (video.paused) video.play().catch(() => {});
  }

  document.addEventListener("keydown", (ev) => {
    const typing = ev.target.closest?.("input, textarea, select");
    // While this viewer flies the drone, S is "back" (control.js).
    const flying = window.CamdControl?.state?.you && window.CamdControl.state.hardware?.drone;
    if (ev.key === "s" && !ev.ctrlKey && !ev.metaKey && !ev.altKey && !typing && !flying) togglePanel();
  });
  // A tap on the video or the panel toggles it: no hover-only controls.
  video.addEventListener("click", togglePanel);
  $("stats").addEventListener("click", togglePanel);
  video.addEventListener("loadeddata", onFirstFrame);
  // A plain link cannot carry the token: the snapshot link fetches the
  // JPEG with it and opens the picture from memory. The tab is opened
  // before the fetch, inside the click, so popup blockers allow it.
  $("snapshot")?.addEventListener("click", (ev) => {
    ev.preventDefault();
    const tab = window.open("", "_blank");
    camd.snapshot().then((url) => {
      if (tab) tab.location = url; else location.href = url;
    }, (err) => {
      tab?.close();
      console.warn(err);
    });
  });
  addEventListener("pagehide", () => session && teardown(session));
  addEventListener("pageshow", (ev) => ev.persisted && !session && connect());

  render();
  connect();
  scheduleFrame();
  syncClock();
  pollStatus();
  setInterval(tick, 1000);
  setInterval(syncClock, CLOCK_SYNC_MS);
  setInterval(pollStatus, STATUS_POLL_MS);
})();
