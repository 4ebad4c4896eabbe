package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
)

// TestPageReconnectsAfterRestart: camd goes away (an upgrade, a crash and
// a restart by the service manager) and comes back on the same address; the
// page, left open, plays again by itself.
func TestPageReconnectsAfterRestart(t *testing.T) {
	needBrowser(t)
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"-source", "pattern", "-size", "640x480"}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The same state directory for both: the restarted camd keeps its
	// token, so the page's stays good.
	state := t.TempDir()
	first, err := harness.StartWith(ctx, camdBin, harness.Options{Addr: addr, StateDir: state, Args: args})
	if err != nil {
		t.Fatal(err)
	}
	b := launch(t)
	p := openPage(t, ctx, b, first.PageURL())
	if err := first.Stop(10 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := p.WaitFor(ctx, `camd.state !== "live"`, 50*time.Millisecond); err != nil {
		t.Fatalf("page did not notice camd going away: %v", err)
	}
	time.Sleep(2 * time.Second) // a few failed attempts while camd is down

	second, err := harness.StartWith(ctx, camdBin, harness.Options{Addr: addr, StateDir: state, Args: args})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := second.Stop(10 * time.Second); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	back := time.Now()
	before := readStats(t, ctx, p).FramesDecoded
	if err := p.WaitFor(ctx, `camd.state === "live" && camd.stats.framesDecoded > 0`, 50*time.Millisecond); err != nil {
		t.Fatalf("page did not come back: %v\n%s", err, second.Logs())
	}
	live := time.Since(back)
	time.Sleep(2 * time.Second)
	s := readStats(t, ctx, p)
	if s.Reconnects < 1 || s.FramesDecoded <= before {
		t.Fatalf("after the restart: reconnects %d, framesDecoded %d (was %d)", s.Reconnects, s.FramesDecoded, before)
	}
	t.Logf("live again %s after camd came back (%d reconnects)", live.Round(100*time.Millisecond), s.Reconnects)
}
