package capture_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/hw/v4l2/v4l2test"
)

// repeatVivid720 replays rec-vivid-720 (vivid's HDMI input, NV12
// 1280x720) with its second frame repeated for ever: a camera with no
// cost of its own, so that what is measured is camd's.
func repeatVivid720(tb testing.TB) *v4l2test.Player {
	tb.Helper()
	ex, err := v4l2test.ReadFile("testdata/v4l2-vivid-720.json.gz")
	if err != nil {
		tb.Fatal(err)
	}
	p, err := v4l2test.Playback(ex)
	if err != nil {
		tb.Skip(err)
	}
	// File 1 is Run's.
	if err := p.RepeatFrames(1); err != nil {
		tb.Fatal(err)
	}
	return p
}

// runFrames runs a source on p until n frames came, calling each(f)
// before releasing f.
func runFrames(tb testing.TB, p *v4l2test.Player, n int, each func(i int, f *capture.Frame)) {
	tb.Helper()
	src, err := capture.NewV4L2(capture.V4L2Options{Device: "/dev/video0", Input: "3", Width: 1280, Height: 720, FPS: 30,
		Format: capture.NV12, Open: p.Open})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	i := 0
	if err := src.Run(ctx, func(f *capture.Frame) {
		each(i, f)
		f.Release()
		i++
		if i == n {
			cancel()
		}
	}); err != nil {
		tb.Fatal(err)
	}
}

// TestV4L2CaptureDoesNotAllocate: in steady state a frame goes from the
// driver to the consumer and back without allocating.
func TestV4L2CaptureDoesNotAllocate(t *testing.T) {
	p := repeatVivid720(t)
	const warm, frames = 10, 200
	var before, after runtime.MemStats
	runFrames(t, p, warm+frames+1, func(i int, f *capture.Frame) {
		switch i {
		case warm:
			runtime.ReadMemStats(&before)
		case warm + frames:
			runtime.ReadMemStats(&after)
		}
	})
	if n := after.Mallocs - before.Mallocs; n > frames/20 {
		t.Errorf("%d allocations over %d frames, want none", n, frames)
	}
}

// BenchmarkV4L2Capture720p measures camd's side of capturing an NV12
// 1280x720 frame: poll, DQBUF, the frame's planes and time, the
// consumer's release and QBUF.
func BenchmarkV4L2Capture720p(b *testing.B) {
	p := repeatVivid720(b)
	b.ReportAllocs()
	runFrames(b, p, 10, func(int, *capture.Frame) {}) // set-up, then reset
	p = repeatVivid720(b)
	b.ResetTimer()
	runFrames(b, p, b.N, func(int, *capture.Frame) {})
}
