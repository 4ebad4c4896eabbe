// Package e2e runs camd's end-to-end tests: the real binary, a real headless
// Chromium driven over the DevTools protocol, and an independent Go WHEP
// client. Chromium comes from Debian's package (scripts/setup installs it);
// outside CI a machine without it skips these tests, in CI that fails.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/browser"
	"github.com/camd-project/camd/scripts/harness"
)

var camdBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "camd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := harness.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if camdBin, err = harness.Build(ctx, root, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// needBrowser skips without Chromium, except in CI where it must be there.
func needBrowser(t *testing.T) {
	t.Helper()
	if _, err := browser.Find(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs Chromium: %v", err)
		}
		t.Skipf("no Chromium: %v", err)
	}
}

// startCamd runs camd for one test and stops it (SIGTERM, clean exit
// required) at the end.
func startCamd(t *testing.T, args ...string) *harness.Camd {
	t.Helper()
	return harness.StartTest(t, camdBin, args...)
}

func launch(t *testing.T) *browser.Browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := browser.Launch(ctx, browser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// openPage opens camd's page in a new tab and waits until it plays.
func openPage(t *testing.T, ctx context.Context, b *browser.Browser, url string) *browser.Page {
	t.Helper()
	p, err := b.NewPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range p.Console() {
				t.Logf("console: %s", l)
			}
		}
	})
	if err := p.Navigate(ctx, url); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `window.camd && camd.state === "live" && camd.stats.framesDecoded > 0`, 50*time.Millisecond); err != nil {
		var st any
		_ = p.Eval(context.Background(), `JSON.stringify(window.camd && {state: camd.state, stats: camd.stats})`, &st)
		t.Fatalf("page never played: %v (camd: %v)", err, st)
	}
	return p
}

// pageStats reads window.camd.stats.
type pageStats struct {
	Width                int      `json:"width"`
	Height               int      `json:"height"`
	FPS                  float64  `json:"fps"`
	BitrateKbps          float64  `json:"bitrateKbps"`
	PacketsLost          int      `json:"packetsLost"`
	FramesDecoded        int      `json:"framesDecoded"`
	FreezeCount          int      `json:"freezeCount"`
	TotalFreezesDuration float64  `json:"totalFreezesDuration"`
	LatencyMs            *float64 `json:"latencyMs"`
	FirstFrameMs         *float64 `json:"firstFrameMs"`
	Reconnects           int      `json:"reconnects"`
}

// inbound reads the page's receiver statistics fresh from getStats. Counts
// compared over a window must come from here: camd.stats is the page's
// copy, refreshed by a timer that slips under load, so two reads a second
// apart can return the same copy.
func inbound(t *testing.T, ctx context.Context, p *browser.Page) browser.InboundVideo {
	t.Helper()
	v, err := p.InboundVideo(ctx, "camd.pc")
	if err != nil || !v.Found {
		t.Fatalf("no receiver statistics: %+v %v", v, err)
	}
	return v
}

func readStats(t *testing.T, ctx context.Context, p *browser.Page) pageStats {
	t.Helper()
	var s pageStats
	if err := p.Eval(ctx, `camd.stats`, &s); err != nil {
		t.Fatal(err)
	}
	return s
}
