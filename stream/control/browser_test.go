package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/camd-project/camd/hw/tello"
	"github.com/camd-project/camd/scripts/browser"
	"github.com/pion/webrtc/v4"
)

// testPage is the page's markup around control.js, and a WHEP-like offer
// exchange without video: the channels alone.
const testPage = `<!doctype html><html><head><meta charset="utf-8"></head><body>
<section id="controls" hidden></section>
<script src="control.js"></script>
<script>
window.states = 0;
window.confirm = () => true; // the takeoff and emergency dialogs
async function connect() {
  const pc = new RTCPeerConnection();
  CamdControl.attach(pc, { onState: () => window.states++ });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((ok) => {
    if (pc.iceGatheringState === "complete") return ok();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && ok();
  });
  const res = await fetch("offer", { method: "POST", body: pc.localDescription.sdp });
  await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
  window.pc = pc;
}
connect().catch((e) => console.error("setup: " + e));
</script></body></html>`

// serveControlPage serves the test page, control.js from stream/web, and
// answers offers with a pion PeerConnection attached to r.
func serveControlPage(t *testing.T, r *Router) *httptest.Server {
	js, err := os.ReadFile("../web/control.js")
	if err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	var pcs []*webrtc.PeerConnection
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, testPage)
	})
	mux.HandleFunc("GET /control.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(js)
	})
	mux.HandleFunc("POST /offer", func(w http.ResponseWriter, req *http.Request) {
		offer, _ := io.ReadAll(req.Body)
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		pcs = append(pcs, pc)
		if _, err := r.AttachPeer(pc, fmt.Sprintf("browser-%d", len(pcs)), false); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		answer, _ := pc.CreateAnswer(nil)
		gathered := webrtc.GatheringCompletePromise(pc)
		pc.SetLocalDescription(answer)
		<-gathered
		io.WriteString(w, pc.LocalDescription().SDP)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		for _, pc := range pcs {
			pc.Close()
		}
	})
	return srv
}

func openBrowser(t *testing.T, url string) *browser.Page {
	t.Helper()
	if _, err := browser.Find(); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := browser.Launch(ctx, browser.Options{Width: 800, Height: 600})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.NewPage(ctx)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console of the page:\n%s", strings.Join(p.Console(), "\n"))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil && !errors.Is(err, browser.ErrClosed) {
			t.Error(err)
		}
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := p.Navigate(ctx, url); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestControlPageInChromium drives stream/web/control.js in a real browser
// against a Router with fake hardware.
func TestControlPageInChromium(t *testing.T) {
	states := make(chan tello.State, 1)
	events := make(chan tello.Event, 4)
	pilot, serial := newFakePilot(), &fakeSerial{}
	r, err := NewRouter(Options{Pilot: pilot, Telemetry: states, Events: events, Serial: serial,
		SerialPort: "/dev/ttyUSB0", TelemetryInterval: 50 * time.Millisecond,
		Commands: []Command{{Name: "pan", Label: "Pan", Send: "P{n}\n", Min: -90, Max: 90}, {Name: "home", Label: "Home", Send: "H\n"}}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	runDone := make(chan error)
	go func() { runDone <- r.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-runDone })
	srv := serveControlPage(t, r)
	p := openBrowser(t, srv.URL+"/")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wait := func(expr string) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		defer wcancel()
		if err := p.WaitFor(wctx, expr, 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(expr string, out any) {
		t.Helper()
		if err := p.Eval(ctx, expr, out); err != nil {
			t.Fatal(err)
		}
	}
	text := func() string {
		var s string
		eval(`document.getElementById("controls").innerText`, &s)
		return s
	}
	click := func(label string) {
		t.Helper()
		var ok bool
		eval(fmt.Sprintf(`(() => { const b = [...document.querySelectorAll("#controls button")].find((b) => b.textContent === %q);
			if (!b || b.disabled) return false; b.click(); return true; })()`, label), &ok)
		if !ok {
			t.Fatalf("no enabled button %q in:\n%s", label, text())
		}
	}

	wait(`CamdControl.state && CamdControl.state.hardware !== null && !document.getElementById("controls").hidden`)
	if s := text(); !strings.Contains(s, "Nobody has control") || !strings.Contains(s, "/dev/ttyUSB0: disconnected") {
		t.Fatalf("controls:\n%s", s)
	}
	var disabled bool
	eval(`[...document.querySelectorAll("#controls button")].find((b) => b.textContent === "Take off").disabled`, &disabled)
	if !disabled {
		t.Fatal("Take off is enabled without the lease")
	}

	click("Take control")
	wait(`CamdControl.state.you && document.getElementById("controls").innerText.includes("You have control")`)

	// 20 Hz sticks, zeros included, then the keys.
	time.Sleep(time.Second)
	sticks, _ := pilot.stats()
	if n := len(sticks); n < 14 || n > 26 {
		t.Fatalf("%d sticks in a second, want about 20", n)
	}
	for _, s := range sticks {
		if s != (tello.Stick{}) {
			t.Fatalf("stick %v with no key down", s)
		}
	}
	eval(`["KeyW", "ArrowRight", "Space"].forEach((code) => dispatchEvent(new KeyboardEvent("keydown", { code })))`, nil)
	waitUntil(t, "keys fly", func() bool {
		s, _ := pilot.stats()
		return s[len(s)-1] == tello.Stick{Pitch: 50, Yaw: 50, Throttle: 50}
	})
	eval(`dispatchEvent(new Event("blur"))`, nil) // focus lost: every key is up
	waitUntil(t, "keys released", func() bool { s, _ := pilot.stats(); return s[len(s)-1] == tello.Stick{} })

	click("Take off")
	if c := <-pilot.calledBack; c != "takeoff" {
		t.Fatalf("pilot got %s", c)
	}
	click("Emergency")
	if c := <-pilot.calledBack; c != "emergency" {
		t.Fatalf("pilot got %s", c)
	}

	// Serial: a command with a number, one without, the terminal.
	eval(`document.querySelector("#controls .cc-cmd input").value = "30"`, nil)
	click("Pan")
	click("Home")
	eval(`(() => { const i = document.querySelector("#controls form input"); i.value = "status?"; i.form.requestSubmit(); })()`, nil)
	waitUntil(t, "serial writes", func() bool { return len(serial.got()) == 3 })
	if got := fmt.Sprintf("%q", serial.got()); got != `["P30\n" "H\n" "status?\n"]` {
		t.Fatalf("port got %s", got)
	}
	r.SetSerialStatus(SerialStatus{Connected: true})
	r.SerialData([]byte("pos 30"))
	r.SerialData([]byte{0xff, 'x'})
	wait(`document.querySelector("#controls .cc-term").textContent === "pos 30\n\\xff\\x78"`)

	// Telemetry and events.
	states <- tello.State{Battery: 15, Height: 80, Pitch: 1, Roll: -2, Yaw: 90,
		Known: tello.FieldBattery | tello.FieldHeight | tello.FieldPitch | tello.FieldRoll | tello.FieldYaw, Received: time.Now()}
	events <- tello.Event{Kind: tello.EventBatteryLow, At: time.Now(), Battery: 15}
	wait(`document.querySelector("#controls .cc-tele").textContent.startsWith("grounded · battery 15% · height 80 cm · pitch/roll/yaw 1/-2/90°")`)
	wait(`document.querySelector("#controls .cc-tele").classList.contains("cc-warn")`)
	wait(`document.querySelector("#controls .cc-events li.cc-warn").textContent.endsWith("battery-low 15%")`)
	wait(`CamdControl.state.rttMs !== null && CamdControl.state.rttMs < 1000 && Math.abs(CamdControl.state.clockOffsetMs) < 1000`)
	if path := os.Getenv("CAMD_CONTROL_SCREENSHOT"); path != "" {
		png, err := p.Screenshot(ctx)
		if err == nil {
			err = os.WriteFile(path, png, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	// A second viewer is refused, and sees the browser as the holder.
	other, _ := connect(t, r, "go-viewer")
	other.send(other.ctl, `{"v":1,"type":"hello","name":"other"}`)
	other.await(TypeWelcome)
	if l := other.await(TypeLeaseState); l.str("holder") != "v1" {
		t.Fatalf("other sees %v", l)
	}
	other.send(other.ctl, `{"v":1,"type":"lease.request"}`)
	if e := other.await(TypeError); e.str("code") != "lease-held" {
		t.Fatalf("other got %v", e)
	}
	other.send(other.ctl, `{"v":1,"type":"lease.request"}`) // an error the page must not see
	click("Release")
	other.awaitWhere(TypeLeaseState, func(l msg) bool { return l["holder"] == nil })
	other.send(other.ctl, `{"v":1,"type":"lease.request"}`)
	wait(`document.getElementById("controls").innerText.includes("other has control")`)
	eval(`[...document.querySelectorAll("#controls button")].find((b) => b.textContent === "Take control").disabled`, &disabled)
	if !disabled {
		t.Fatal("Take control is enabled while another viewer holds the lease")
	}

	// The page shows camd's errors.
	eval(`document.querySelectorAll("#controls button")[0].disabled = false`, nil)
	click("Take control")
	wait(`document.querySelector("#controls .cc-error").textContent.startsWith("lease.request: v2 (other) has held the lease for")`)

	_, releasesBefore := pilot.stats()
	eval(`window.pc.close()`, nil)
	wait(`document.getElementById("controls").hidden`)
	if _, n := pilot.stats(); n != releasesBefore {
		t.Fatal("the page that did not hold the lease released the pilot")
	}

	// The page reconnects as app.js does: a new PeerConnection, attached
	// again; the old session draws nothing any more.
	eval(`connect()`, nil)
	wait(`!document.getElementById("controls").hidden && CamdControl.state.open && CamdControl.state.viewer === "v3"`)
	wait(`document.getElementById("controls").innerText.includes("other has control")`)
}
