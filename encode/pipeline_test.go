package encode

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camd-project/camd/capture"
)

// checkGoroutines fails the test if goroutines started during it are still
// running when it ends.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines left running:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
	})
}

// fakeSource emits frames raw frames as fast as it can, then returns err,
// or waits for ctx when block is set. It counts releases.
type fakeSource struct {
	frames   int
	format   capture.Format
	data     []byte // the H264 frames' access unit
	err      error
	block    bool
	released atomic.Int64
	asked    atomic.Int64 // RequestKeyframe calls
}

func (s *fakeSource) Info() capture.Info {
	return capture.Info{Name: "fake", Format: s.format, Width: 64, Height: 48, FPS: 30}
}

func (s *fakeSource) Run(ctx context.Context, emit func(*capture.Frame)) error {
	for i := range s.frames {
		f := &capture.Frame{Format: s.format, Width: 64, Height: 48, Seq: uint64(i), Time: time.Now(),
			Planes: [][]byte{s.data}, OnRelease: func() { s.released.Add(1) }}
		emit(f)
	}
	if s.block {
		<-ctx.Done()
		return nil
	}
	return s.err
}

type requestingSource struct{ *fakeSource }

func (s requestingSource) RequestKeyframe() { s.asked.Add(1) }

// fakeEncoder returns a one-NAL access unit per frame, after delay; every
// frame fails when err is set.
type fakeEncoder struct {
	delay time.Duration
	err   error
	n     int
}

func (e *fakeEncoder) Encode(f *capture.Frame) (AccessUnit, bool, error) {
	time.Sleep(e.delay)
	if e.err != nil {
		return AccessUnit{}, false, e.err
	}
	e.n++
	return AccessUnit{Data: []byte{0, 0, 0, 1, 0x41, 1, 2}, Keyframe: e.n == 1, Seq: f.Seq, Time: f.Time}, true, nil
}
func (e *fakeEncoder) SetBitrate(int) error { return nil }
func (e *fakeEncoder) ForceKeyframe()       {}
func (e *fakeEncoder) Name() string         { return "fake" }
func (e *fakeEncoder) Close() error         { return nil }

func TestPipelinePattern(t *testing.T) {
	needSoftware(t)
	checkGoroutines(t)
	src := capture.NewPattern(capture.PatternOptions{Width: 320, Height: 240, FPS: 30})
	enc := newTestOpenH264(t, Options{Width: 320, Height: 240, FPS: 30})
	var mu sync.Mutex
	var got []AccessUnit
	enough := make(chan struct{})
	p := &Pipeline{Source: src, Encoder: enc, Out: func(au AccessUnit) {
		mu.Lock()
		defer mu.Unlock()
		if len(au.Data) == 0 {
			t.Error("empty access unit")
		}
		au.Data = nil // not kept past Out
		got = append(got, au)
		if len(got) == 10 {
			close(enough)
		}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	statsDone := make(chan struct{})
	go func() { // Stats while running, for -race
		defer close(statsDone)
		for ctx.Err() == nil {
			_ = p.Stats()
			time.Sleep(time.Millisecond)
		}
	}()
	select {
	case <-enough:
	case <-time.After(10 * time.Second):
		t.Fatal("fewer than 10 access units in 10 s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	<-statsDone

	mu.Lock()
	defer mu.Unlock()
	if !got[0].Keyframe {
		t.Error("first access unit is not a keyframe")
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq || !got[i].Time.After(got[i-1].Time) {
			t.Errorf("access unit %d: seq %d at %v after seq %d at %v", i, got[i].Seq, got[i].Time, got[i-1].Seq, got[i-1].Time)
		}
	}
	s := p.Stats()
	t.Logf("stats: %+v", s)
	if s.Encoded != uint64(len(got)) || s.Keyframes < 1 || s.Bytes == 0 {
		t.Errorf("stats %+v, want Encoded %d and some keyframes and bytes", s, len(got))
	}
	if s.FramesIn < s.Encoded+s.Skipped+s.Dropped || s.AvgEncode <= 0 || s.P99Encode < s.AvgEncode/2 {
		t.Errorf("inconsistent stats %+v", s)
	}
}

func TestPipelineDropsAndReleases(t *testing.T) {
	checkGoroutines(t)
	src := &fakeSource{frames: 200, format: capture.I420}
	var outs int
	p := &Pipeline{Source: src, Encoder: &fakeEncoder{delay: 200 * time.Microsecond}, Out: func(AccessUnit) { outs++ }}
	if err := p.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	s := p.Stats()
	if s.FramesIn != 200 || s.Dropped == 0 || s.Encoded+s.Dropped != 200 || uint64(outs) != s.Encoded {
		t.Errorf("stats %+v, %d outs: want 200 in, some dropped, the rest encoded", s, outs)
	}
	if n := src.released.Load(); n != 200 {
		t.Errorf("%d of 200 frames released", n)
	}
}

func TestPipelineSourceError(t *testing.T) {
	checkGoroutines(t)
	boom := errors.New("device unplugged")
	src := &fakeSource{frames: 3, format: capture.I420, err: boom}
	p := &Pipeline{Source: src, Encoder: &fakeEncoder{}, Out: func(AccessUnit) {}}
	err := p.Run(context.Background())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "fake") {
		t.Fatalf("Run: %v, want the source's error naming the source", err)
	}
	if n := src.released.Load(); n != 3 {
		t.Errorf("%d of 3 frames released", n)
	}
}

func TestPipelineEncoderFailure(t *testing.T) {
	checkGoroutines(t)
	bad := errors.New("codec wedged")
	src := &fakeSource{frames: 1000, format: capture.I420, block: true}
	p := &Pipeline{Source: src, Encoder: &fakeEncoder{err: bad, delay: 10 * time.Microsecond}, Out: func(AccessUnit) {}, QueueDepth: 1000}
	err := p.Run(context.Background())
	if !errors.Is(err, bad) {
		t.Fatalf("Run: %v, want the encoder's error", err)
	}
	if s := p.Stats(); s.Errors != maxFailures {
		t.Errorf("%d errors, want %d", s.Errors, maxFailures)
	}
	if n := src.released.Load(); n != 1000 {
		t.Errorf("%d of 1000 frames released", n)
	}
}

func TestPipelineEncodeTimes(t *testing.T) {
	src := &fakeSource{frames: 100, format: capture.I420}
	var clock time.Time
	p := &Pipeline{Source: src, Encoder: &fakeEncoder{}, Out: func(AccessUnit) {}, QueueDepth: 100}
	calls := 0
	p.now = func() time.Time { // each Encode takes 3 ms, one in ten 20 ms
		calls++
		if calls%2 == 0 {
			d := 3 * time.Millisecond
			if calls%20 == 0 {
				d = 20 * time.Millisecond
			}
			clock = clock.Add(d)
		}
		return clock
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	if s.LastEncode != 20*time.Millisecond || s.AvgEncode != 4700*time.Microsecond {
		t.Errorf("last %v avg %v, want 20ms 4.7ms", s.LastEncode, s.AvgEncode)
	}
	if s.P99Encode < 20*time.Millisecond || s.P99Encode > 24*time.Millisecond {
		t.Errorf("p99 %v, want 20ms (within a bucket)", s.P99Encode)
	}
}

func TestPipelinePassthroughRequests(t *testing.T) {
	// Plain, and inside the Restartable camd wraps every encoder in.
	for _, wrap := range []bool{false, true} {
		checkGoroutines(t)
		fs := &fakeSource{frames: 1, format: capture.H264, data: annexB(testSPS, testPPS, testIDR), block: true}
		var enc Encoder = NewPassthrough()
		if wrap {
			r, err := NewRestartable(func() (Encoder, error) { return NewPassthrough(), nil })
			if err != nil {
				t.Fatal(err)
			}
			enc = r
		}
		keys := make(chan bool, 1)
		p := &Pipeline{Source: requestingSource{fs}, Encoder: enc, Out: func(au AccessUnit) { keys <- au.Keyframe }}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		if !<-keys {
			t.Error("passthrough of an IDR with parameter sets is not a keyframe")
		}
		enc.ForceKeyframe()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if fs.asked.Load() != 1 {
			t.Errorf("wrapped %v: source asked for %d keyframes, want 1", wrap, fs.asked.Load())
		}
	}
}

func TestPipelineIncomplete(t *testing.T) {
	if err := (&Pipeline{}).Run(context.Background()); !errors.Is(err, ErrIncomplete) {
		t.Errorf("err = %v, want ErrIncomplete", err)
	}
}
