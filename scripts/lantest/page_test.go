package lantest

import (
	"context"
	"fmt"
	"github.com/camd-project/camd/scripts/harness"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/browser"
)

// TestPageSurvivesAddressChange: camd's own page in a real Chromium in the
// viewer's namespace; the viewer's address changes mid-stream and the page
// keeps its session through an ICE restart (WHEP PATCH) instead of starting
// a new one.
func TestPageSurvivesAddressChange(t *testing.T) {
	harness.NeedRoot(t)
	needTools(t)
	chromium, err := browser.Find()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	l := newLAN(t)
	// Chromium gathers candidates on the interface of the default route.
	harness.Run(t, "ip", "-n", l.nsB, "route", "add", "default", "via", addrA, "dev", l.vethB)
	camdBin, _ := buildCamdAndViewer(t)
	camd := start(t, l.nsA, "camd", camdBin, "-listen", addrA+":8080", "-name", "lancam", "-set", "mdns.enabled=false", "-log-level", "debug", "-set", "auth.token="+harness.TestToken,
		"-source", "pattern", "-size", "320x240", "-fps", "30", "-set", "webrtc.udp_port=8189")
	camd.waitStderr(t, "camd is running", 20*time.Second)

	// The browser runs inside the viewer's namespace.
	wrapper := filepath.Join(t.TempDir(), "chromium-in-netns")
	script := "#!/bin/sh\nexec ip netns exec " + l.nsB + " " + chromium + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b, err := browser.Launch(ctx, browser.Options{Path: wrapper})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := b.NewPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, "http://"+addrA+":8080/#token="+harness.TestToken); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `window.camd && camd.state === "live" && camd.stats.framesDecoded > 0`, 50*time.Millisecond); err != nil {
		t.Fatalf("page never played: %v %q", err, p.Console())
	}

	// The viewer moves to a new address.
	harness.Run(t, "ip", "-n", l.nsB, "addr", "del", addrB+"/24", "dev", l.vethB)
	harness.Run(t, "ip", "-n", l.nsB, "addr", "add", "10.99.0.3/24", "dev", l.vethB)
	harness.Run(t, "ip", "-n", l.nsB, "route", "replace", "default", "via", addrA, "dev", l.vethB)
	moved := time.Now()
	if err := p.WaitFor(ctx, `camd.stats.iceRestarts > 0`, 100*time.Millisecond); err != nil {
		var st any
		_ = p.Eval(context.Background(), `JSON.stringify({state: camd.state, reconnects: camd.stats.reconnects})`, &st)
		t.Fatalf("no ICE restart after the address change: %v\n%v\n%q", err, st, p.Console())
	}
	var at int
	if err := p.Eval(ctx, `camd.stats.framesDecoded`, &at); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
	defer wcancel()
	if err := p.WaitFor(wctx, fmt.Sprintf(`camd.stats.framesDecoded > %d + 60`, at), 100*time.Millisecond); err != nil {
		var st any
		_ = p.Eval(context.Background(), `(async () => { const pairs = []; (await camd.pc.getStats()).forEach((r) => { if (r.type === "candidate-pair" || r.type === "remote-candidate" || r.type === "local-candidate") pairs.push(r.type + " " + (r.state || "") + " " + (r.address || "") + ":" + (r.port || "") + " " + (r.candidateType || "") + " req=" + (r.requestsSent || "") + " resp=" + (r.responsesReceived || "")); });
			return JSON.stringify({state: camd.state, frames: camd.stats.framesDecoded, reconnects: camd.stats.reconnects, restarts: camd.stats.iceRestarts, pc: camd.pc && camd.pc.connectionState, ice: camd.pc.iceConnectionState, pairs}); })()`, &st)
		t.Fatalf("no video after the ICE restart: %v\n%v\n%q\ncamd:\n%s", err, st, p.Console(), camd.stderr)
	}
	var reconnects int
	if err := p.Eval(ctx, `camd.stats.reconnects`, &reconnects); err != nil {
		t.Fatal(err)
	}
	if reconnects != 0 {
		t.Fatalf("the page started %d new sessions; want the same session kept", reconnects)
	}
	t.Logf("address changed; page restarted ICE and played on after %s, no new session", time.Since(moved).Round(100*time.Millisecond))
}
