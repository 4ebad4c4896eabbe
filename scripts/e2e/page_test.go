package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
)

// TestPagePlaysLivePattern is what a person sees: camd with no camera, its
// own page in a real browser, a moving picture at the configured size,
// stats and a latency number on screen.
func TestPagePlaysLivePattern(t *testing.T) {
	needBrowser(t)
	c := startCamd(t, "-source", "pattern", "-size", "1280x720", "-fps", "30")
	b := launch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := openPage(t, ctx, b, c.PageURL())

	var size struct{ W, H int }
	if err := p.Eval(ctx, `({W: document.getElementById("video").videoWidth, H: document.getElementById("video").videoHeight})`, &size); err != nil {
		t.Fatal(err)
	}
	if size.W != 1280 || size.H != 720 {
		t.Fatalf("video is %dx%d, want 1280x720", size.W, size.H)
	}

	// Five seconds of steady decoding: framesDecoded grows every second
	// and no freeze is counted.
	first := inbound(t, ctx, p)
	prev := first
	for i := 0; i < 5; i++ {
		time.Sleep(time.Second)
		s := inbound(t, ctx, p)
		if s.Frames <= prev.Frames {
			t.Fatalf("second %d: framesDecoded %.0f -> %.0f: the picture froze (%.0f PLIs, %.0f NACKs, %.0f lost, %.0f key frames so far)",
				i+1, prev.Frames, s.Frames, s.PLIs, s.NACKs, s.Lost, s.KeyFrames)
		}
		prev = s
	}
	if reconnects := readStats(t, ctx, p).Reconnects; prev.FreezeN != first.FreezeN || reconnects != 0 {
		t.Fatalf("freezes %.0f -> %.0f (%.2f s), reconnects %d during 5 s of play", first.FreezeN, prev.FreezeN, prev.Freezes-first.Freezes, reconnects)
	}
	if fps := (prev.Frames - first.Frames) / 5; fps < 20 {
		t.Fatalf("decoded %.1f fps, want about 30", fps)
	}
	t.Logf("decoded %.0f frames in 5 s, %.0f kbit/s, lost %.0f", prev.Frames-first.Frames, (prev.Bytes-first.Bytes)*8/5/1000, prev.Lost-first.Lost)

	png, err := p.Screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("CAMD_TEST_SHOTS"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "page.png"), png, 0o644)
	}
	img, err := harness.PNGStats(png)
	if err != nil {
		t.Fatal(err)
	}
	if img.Lit < 0.3 || img.MeanLuma < 40 {
		t.Fatalf("screenshot looks black: mean luma %.1f, %.0f%% lit", img.MeanLuma, 100*img.Lit)
	}

	// The latency overlay shows a number.
	if err := p.WaitFor(ctx, `typeof camd.stats.latencyMs === "number"`, 100*time.Millisecond); err != nil {
		t.Fatalf("no latency measured: %v", err)
	}
	time.Sleep(1100 * time.Millisecond) // the overlay redraws once a second
	var text string
	if err := p.Eval(ctx, `document.getElementById("stats").innerText`, &text); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`latency\s+(\d+(\.\d+)?)\s*ms`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("overlay shows no latency number:\n%s", text)
	}
	s := readStats(t, ctx, p)
	t.Logf("latency on screen: %s ms (median of the last second %.0f ms); first frame %.0f ms after navigation", m[1], *s.LatencyMs, deref(s.FirstFrameMs))
	if *s.LatencyMs <= 0 || *s.LatencyMs > 1000 {
		t.Fatalf("latency %.1f ms is not plausible on loopback", *s.LatencyMs)
	}
}

func deref(f *float64) float64 {
	if f == nil {
		return -1
	}
	return *f
}
