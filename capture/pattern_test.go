package capture_test

import (
	"bytes"
	"context"
	"image"
	"math"
	"testing"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/blockcode"
	"github.com/camd-project/camd/capture/capturetest"
)

var epoch = time.Date(2025, 11, 23, 12, 34, 56, 0, time.UTC)

// due is when frame n is due at fps, from the start.
func due(n uint64, fps float64) time.Duration {
	return time.Duration(math.Round(float64(n) * float64(time.Second) / fps))
}

// runner runs a source on a fake clock and collects its frames.
type runner struct {
	t      *testing.T
	clock  *capturetest.Clock
	frames chan *capture.Frame
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, clock *capturetest.Clock, src capture.Source) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{t: t, clock: clock, frames: make(chan *capture.Frame, 64), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- src.Run(ctx, func(f *capture.Frame) { r.frames <- f }) }()
	t.Cleanup(func() { r.stop() })
	return r
}

// next waits for the next frame.
func (r *runner) next() *capture.Frame {
	r.t.Helper()
	select {
	case f := <-r.frames:
		return f
	case <-time.After(5 * time.Second):
		r.t.Fatal("no frame within 5 s")
		return nil
	}
}

// asleep waits until the source sleeps on its timer, then checks that it
// emitted nothing meanwhile.
func (r *runner) asleep() {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for r.clock.Waiting() == 0 {
		if time.Now().After(deadline) {
			r.t.Fatal("source never went to sleep")
		}
		time.Sleep(50 * time.Microsecond)
	}
	select {
	case f := <-r.frames:
		r.t.Fatalf("unexpected frame %d before it was due", f.Seq)
	default:
	}
}

// stop cancels Run and checks that it returns nil.
func (r *runner) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		r.t.Error("Run did not return after cancel")
	}
	for {
		select {
		case f := <-r.frames:
			f.Release()
		default:
			return
		}
	}
}

func TestPatternDefaults(t *testing.T) {
	p := capture.NewPattern(capture.PatternOptions{})
	if got, want := p.Info(), (capture.Info{Name: "test pattern", Format: capture.I420, Width: 1280, Height: 720, FPS: 30}); got != want {
		t.Errorf("Info = %+v, want %+v", got, want)
	}
}

func TestPatternBadOptions(t *testing.T) {
	for _, o := range []capture.PatternOptions{
		{Width: 8, Height: 8}, {Width: -1}, {Width: 10000, Height: 100},
		{FPS: -1}, {FPS: math.NaN()}, {FPS: 5000},
	} {
		p := capture.NewPattern(o)
		if err := p.Run(context.Background(), func(*capture.Frame) {}); err == nil {
			t.Errorf("%+v: Run succeeded", o)
		}
		if p.Frame(0, epoch) != nil {
			t.Errorf("%+v: Frame returned a frame", o)
		}
	}
}

func TestPatternFrame(t *testing.T) {
	for _, size := range [][2]int{{1280, 720}, {640, 480}, {321, 241}, {16, 16}} {
		p := capture.NewPattern(capture.PatternOptions{Width: size[0], Height: size[1]})
		f := p.Frame(77, epoch.Add(123*time.Millisecond))
		w, h := size[0], size[1]
		if f.Format != capture.I420 || f.Width != w || f.Height != h || f.Seq != 77 || !f.Time.Equal(epoch.Add(123*time.Millisecond)) {
			t.Errorf("%dx%d: frame %v %dx%d seq %d time %v", w, h, f.Format, f.Width, f.Height, f.Seq, f.Time)
		}
		cw, ch := (w+1)/2, (h+1)/2
		if len(f.Planes) != 3 || len(f.Planes[0]) < w*h || len(f.Planes[1]) < cw*ch || len(f.Planes[2]) < cw*ch || f.Strides[0] < w || f.Strides[1] < cw {
			t.Fatalf("%dx%d: planes %d/%d/%d strides %v", w, h, len(f.Planes[0]), len(f.Planes[1]), len(f.Planes[2]), f.Strides)
		}
		c, err := blockcode.Read(f.Planes[0], f.Strides[0], w, h)
		if blockcode.Rect(w, h).Empty() {
			if err == nil {
				t.Errorf("%dx%d: code read from a frame too small for one", w, h)
			}
		} else if err != nil || c.Seq != 77 || !c.Resolve(epoch).Equal(epoch.Add(123*time.Millisecond)) {
			t.Errorf("%dx%d: block code %+v, %v; want seq 77 at %v", w, h, c, err, epoch.Add(123*time.Millisecond))
		}
		f.Release()
	}
}

// The pattern moves: consecutive frames differ outside the block code, and
// the same frame number and time draw the same picture.
func TestPatternMoves(t *testing.T) {
	p := capture.NewPattern(capture.PatternOptions{Width: 640, Height: 480})
	code := p.CodeRect()
	outside := func(f *capture.Frame) []byte {
		var b []byte
		for y := range f.Height {
			start := 0
			if y < code.Max.Y {
				start = code.Max.X
			}
			b = append(b, f.Planes[0][y*f.Strides[0]+start:y*f.Strides[0]+f.Width]...)
		}
		return b
	}
	a := p.Frame(10, epoch)
	aOut := outside(a)
	aY := bytes.Clone(a.Planes[0])
	a.Release()
	b := p.Frame(11, epoch.Add(33*time.Millisecond))
	if bytes.Equal(aOut, outside(b)) {
		t.Error("frames 10 and 11 are the same outside the block code")
	}
	b.Release()
	// The pool hands back the same buffers; redrawing frame 10 must not
	// show anything of frame 11.
	again := p.Frame(10, epoch)
	if !bytes.Equal(again.Planes[0], aY) {
		t.Error("frame 10 drawn twice differs")
	}
	again.Release()
}

func TestPatternNoAllocs(t *testing.T) {
	p := capture.NewPattern(capture.PatternOptions{})
	seq := uint64(0)
	if n := testing.AllocsPerRun(50, func() {
		seq++
		p.Frame(seq, epoch.Add(time.Duration(seq)*time.Millisecond)).Release()
	}); n != 0 {
		t.Errorf("a frame allocates %v times in steady state, want 0", n)
	}
}

func TestPatternPacing(t *testing.T) {
	const fps = 30
	clock := capturetest.NewClock(epoch)
	p := capture.NewPattern(capture.PatternOptions{Width: 320, Height: 240, FPS: fps, Clock: clock})
	r := start(t, clock, p)
	check := func(f *capture.Frame, seq uint64) {
		t.Helper()
		if f.Seq != seq || !f.Time.Equal(epoch.Add(due(seq, fps))) {
			t.Errorf("frame %d at %v, want %d at %v", f.Seq, f.Time.Sub(epoch), seq, due(seq, fps))
		}
		if c, err := blockcode.Read(f.Planes[0], f.Strides[0], f.Width, f.Height); err != nil || uint64(c.Seq) != seq || !c.Resolve(epoch).Equal(f.Time.Truncate(time.Millisecond)) {
			t.Errorf("frame %d: block code %+v, %v", seq, c, err)
		}
		f.Release()
	}
	check(r.next(), 0) // the first frame comes at once
	// 300 frames, ten seconds: each arrives exactly when due, never a
	// nanosecond early, and the schedule does not drift.
	for n := uint64(1); n <= 300; n++ {
		r.asleep()
		clock.Advance(due(n, fps) - due(n-1, fps) - 1)
		r.asleep()
		clock.Advance(1)
		check(r.next(), n)
	}
	if p.Skipped() != 0 {
		t.Errorf("Skipped = %d, want 0", p.Skipped())
	}
	// A stall of five frame times: one frame, the latest due, no burst.
	r.asleep()
	clock.Advance(due(306, fps) - due(300, fps) + 10*time.Millisecond)
	f := r.next()
	if f.Seq != 306 || p.Skipped() != 5 {
		t.Errorf("after a stall: frame %d, skipped %d; want 306, 5", f.Seq, p.Skipped())
	}
	f.Release()
	r.asleep()
	clock.Advance(due(307, fps) - due(306, fps) - 10*time.Millisecond)
	check(r.next(), 307)
	r.stop()
}

// With the real clock, frames flow and Run stops when cancelled.
func TestPatternSystemClock(t *testing.T) {
	p := capture.NewPattern(capture.PatternOptions{Width: 320, Height: 240, FPS: 200})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	frames := make(chan *capture.Frame, 100)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, func(f *capture.Frame) { frames <- f }) }()
	var last *capture.Frame
	for range 5 {
		select {
		case f := <-frames:
			if last != nil && (f.Seq <= last.Seq || !f.Time.After(last.Time)) {
				t.Errorf("frame %d at %v after frame %d at %v", f.Seq, f.Time, last.Seq, last.Time)
			}
			if last != nil {
				last.Release()
			}
			last = f
		case <-time.After(5 * time.Second):
			t.Fatal("no frames")
		}
	}
	last.Release()
	if err := p.Run(ctx, func(*capture.Frame) {}); err == nil {
		t.Error("a second concurrent Run succeeded")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func BenchmarkPatternFrame(b *testing.B) {
	p := capture.NewPattern(capture.PatternOptions{Width: 1280, Height: 720})
	p.Frame(0, epoch).Release() // the pool's first buffer
	b.ReportAllocs()
	b.SetBytes(1280 * 720 * 3 / 2)
	for i := 0; b.Loop(); i++ {
		p.Frame(uint64(i), epoch.Add(time.Duration(i)*33*time.Millisecond)).Release()
	}
}

// Grain changes every frame and only outside the block code, stays within
// its amplitude, and redraws the same for the same frame.
func TestPatternGrain(t *testing.T) {
	const grain = 16
	clean := capture.NewPattern(capture.PatternOptions{Width: 320, Height: 240})
	noisy := capture.NewPattern(capture.PatternOptions{Width: 320, Height: 240, Grain: grain})
	code := noisy.CodeRect()
	a, b := clean.Frame(5, epoch), noisy.Frame(5, epoch)
	differ := 0
	for y := range 240 {
		for x := range 320 {
			d := int(b.Planes[0][y*b.Strides[0]+x]) - int(a.Planes[0][y*a.Strides[0]+x])
			if d < -grain/2 || d > grain/2 {
				t.Fatalf("pixel %d,%d moved by %d, more than ±%d", x, y, d, grain/2)
			}
			if d != 0 {
				differ++
				if (image.Point{x, y}).In(code) {
					t.Fatalf("grain inside the block code at %d,%d", x, y)
				}
			}
		}
	}
	if differ < 320*240/2 {
		t.Fatalf("only %d of %d pixels have grain", differ, 320*240)
	}
	if c, err := blockcode.Read(b.Planes[0], b.Strides[0], 320, 240); err != nil || c.Seq != 5 {
		t.Fatalf("block code under grain: %+v, %v", c, err)
	}
	y5 := bytes.Clone(b.Planes[0])
	b.Release()
	a.Release()
	next := noisy.Frame(6, epoch)
	again := noisy.Frame(5, epoch)
	if bytes.Equal(next.Planes[0], y5) || !bytes.Equal(again.Planes[0], y5) {
		t.Fatal("grain does not move from frame to frame, or differs when redrawn")
	}
	for _, g := range []int{-1, capture.MaxGrain + 1} {
		if p := capture.NewPattern(capture.PatternOptions{Grain: g}); p.Frame(0, epoch) != nil {
			t.Fatalf("grain %d accepted", g)
		}
	}
}

func BenchmarkPatternFrameGrain(b *testing.B) {
	p := capture.NewPattern(capture.PatternOptions{Width: 1280, Height: 720, Grain: 16})
	p.Frame(0, epoch).Release()
	b.ReportAllocs()
	b.SetBytes(1280 * 720 * 3 / 2)
	for i := 0; b.Loop(); i++ {
		p.Frame(uint64(i), epoch.Add(time.Duration(i)*33*time.Millisecond)).Release()
	}
}
