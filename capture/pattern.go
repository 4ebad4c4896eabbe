package capture

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync/atomic"
	"time"

	"github.com/camd-project/camd/capture/blockcode"
)

// PatternOptions configure a test pattern. Zero values take the defaults.
type PatternOptions struct {
	Width, Height int     // default 1280x720; 16x16 to 7680x4320
	FPS           float64 // default 30; at most 1000
	Clock         Clock   // default SystemClock{}
	// Grain adds moving film grain to the luma, up to ±Grain/2 levels
	// (0 to 64; 0: none), outside the block code. The clean pattern
	// compresses to almost nothing; grain makes it cost bits the way a
	// camera picture does, so that rate control has something to cut.
	Grain int
}

// Pattern is a Source of moving I420 test frames: colour bars, a bouncing
// box, a sweeping bar, the capture time and frame number in digits, and a
// block code (package blockcode) with the frame number and capture time
// for a viewer to read back.
//
// Frames come from a pool and go back to it on Release, so a Pattern
// allocates nothing in steady state. Drawing a frame copies a background
// drawn once and paints the moving parts over it.
type Pattern struct {
	opts    PatternOptions
	err     error
	bg      [3][]byte // background planes, tightly packed
	strides [3]int
	layout  patternLayout
	pool    framePool
	skipped atomic.Uint64
	running atomic.Bool
}

// NewPattern returns a test pattern. Invalid options make Run fail with an
// error that names them.
func NewPattern(opts PatternOptions) *Pattern {
	if opts.Width == 0 {
		opts.Width = 1280
	}
	if opts.Height == 0 {
		opts.Height = 720
	}
	if opts.FPS == 0 {
		opts.FPS = 30
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	p := &Pattern{opts: opts}
	switch w, h := opts.Width, opts.Height; {
	case w < 16 || h < 16 || w > 7680 || h > 4320:
		p.err = fmt.Errorf("capture.NewPattern: size %dx%d outside 16x16 to 7680x4320", w, h)
		return p
	case !(opts.FPS > 0 && opts.FPS <= 1000):
		p.err = fmt.Errorf("capture.NewPattern: fps %v outside (0, 1000]", opts.FPS)
		return p
	case opts.Grain < 0 || opts.Grain > MaxGrain:
		p.err = fmt.Errorf("capture.NewPattern: grain %d outside 0 to %d", opts.Grain, MaxGrain)
		return p
	}
	w, h := opts.Width, opts.Height
	cw, ch := (w+1)/2, (h+1)/2
	p.strides = [3]int{w, cw, cw}
	p.bg = [3][]byte{make([]byte, w*h), make([]byte, cw*ch), make([]byte, cw*ch)}
	p.layout = newPatternLayout(w, h)
	p.drawBackground()
	p.pool = framePool{keep: 4, setup: func(f *Frame) {
		f.Format, f.Width, f.Height = I420, w, h
		buf := make([]byte, w*h+2*cw*ch)
		f.Planes = [][]byte{buf[: w*h : w*h], buf[w*h : w*h+cw*ch : w*h+cw*ch], buf[w*h+cw*ch:]}
		f.Strides = p.strides[:]
	}}
	return p
}

// Info describes the frames.
func (p *Pattern) Info() Info {
	return Info{Name: "test pattern", Format: I420, Width: p.opts.Width, Height: p.opts.Height, FPS: p.opts.FPS}
}

// Skipped returns how many frame times Run passed over because it woke up
// late. Each shows as a gap in Seq.
func (p *Pattern) Skipped() uint64 { return p.skipped.Load() }

// Run produces a frame every 1/FPS seconds until ctx is done. Frame n (its
// Seq) is due at n/FPS after Run starts; a late wake-up skips the frames
// whose time has passed.
func (p *Pattern) Run(ctx context.Context, emit func(*Frame)) error {
	if p.err != nil {
		return p.err
	}
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("capture.Pattern.Run: already running")
	}
	defer p.running.Store(false)
	pc := newPacer(p.opts.Clock, p.opts.FPS, &p.skipped)
	defer pc.stop()
	for {
		seq, now, ok := pc.wait(ctx)
		if !ok {
			return nil
		}
		emit(p.Frame(seq, now))
	}
}

// Frame draws the frame with sequence number seq captured at t, without
// pacing; Run uses it, and so can tests and benchmarks that want frames
// on demand. It returns nil if the options are invalid.
func (p *Pattern) Frame(seq uint64, t time.Time) *Frame {
	if p.err != nil {
		return nil
	}
	f := p.pool.get()
	f.Seq, f.Time = seq, t
	for i := range 3 {
		copy(f.Planes[i], p.bg[i])
	}
	p.drawMoving(f, seq, t)
	if p.opts.Grain > 0 {
		addGrain(f, p.opts.Grain, blockcode.Rect(f.Width, f.Height))
	}
	blockcode.DrawI420(f.Planes, f.Strides, f.Width, f.Height, blockcode.Code{Seq: uint32(seq), TimeMs: uint64(t.UnixMilli())})
	return f
}

// CodeRect returns where the block code sits in the pattern's frames.
func (p *Pattern) CodeRect() image.Rectangle {
	return blockcode.Rect(p.opts.Width, p.opts.Height)
}
