package encode

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camd-project/camd/capture"
)

// breakingEncoder is a fakeEncoder that fails every frame from the
// failAt-th on (0: never), like a codec that wedges.
type breakingEncoder struct {
	fakeEncoder
	failAt  int
	frames  int
	bitrate int
	closed  bool
}

var errWedged = errors.New("codec wedged")

func (e *breakingEncoder) Encode(f *capture.Frame) (AccessUnit, bool, error) {
	e.frames++
	if e.failAt > 0 && e.frames >= e.failAt {
		return AccessUnit{}, false, errWedged
	}
	return e.fakeEncoder.Encode(f)
}
func (e *breakingEncoder) SetBitrate(bps int) error { e.bitrate = bps; return nil }
func (e *breakingEncoder) Close() error             { e.closed = true; return nil }

// TestPipelineRestartsBrokenEncoder: the first encoder wedges after 20
// frames, the first rebuild fails too, the second works. The pipeline
// keeps running, the new encoder's first access unit is a keyframe, the
// bitrate set before survives, and the broken encoders are closed.
func TestPipelineRestartsBrokenEncoder(t *testing.T) {
	checkGoroutines(t)
	var (
		mu    sync.Mutex
		built []*breakingEncoder
	)
	builds := 0
	r, err := NewRestartable(func() (Encoder, error) {
		mu.Lock()
		defer mu.Unlock()
		builds++
		switch builds {
		case 1:
			e := &breakingEncoder{failAt: 20}
			built = append(built, e)
			return e, nil
		case 2:
			return nil, errors.New("device busy")
		}
		e := &breakingEncoder{}
		built = append(built, e)
		return e, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetBitrate(700_000); err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{frames: 400, format: capture.I420, block: true}
	var (
		units     atomic.Int64
		keyAfter  atomic.Bool // a keyframe came after the restart
		restarted atomic.Bool
		done      = make(chan struct{})
	)
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{Source: src, Encoder: r, QueueDepth: 400, RestartBackoff: time.Millisecond,
		Out: func(au AccessUnit) {
			units.Add(1)
			if r.Restarts() > 0 {
				if !restarted.Swap(true) && au.Keyframe {
					keyAfter.Store(true)
				}
				if units.Load() > 100 {
					select {
					case <-done:
					default:
						close(done)
					}
				}
			}
		}}
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	select {
	case <-done:
	case err := <-errc:
		t.Fatalf("Run ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("no video after the restart: %+v", p.Stats())
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := p.Stats()
	t.Logf("stats: %+v, builds %d", st, builds)
	switch {
	case r.Restarts() != 1 || st.Restarts != 1:
		t.Fatalf("%d restarts (stats %d), want 1 (after one failed rebuild)", r.Restarts(), st.Restarts)
	case !keyAfter.Load():
		t.Fatal("the first access unit after the restart is not a keyframe")
	case !built[0].closed:
		t.Fatal("the broken encoder was not closed")
	case built[1].bitrate != 700_000:
		t.Fatalf("new encoder's bitrate %d, want 700000", built[1].bitrate)
	case st.Errors < maxFailures+1:
		t.Fatalf("%d errors counted", st.Errors)
	}
	if err := r.Close(); err != nil || !built[1].closed {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Restart(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Restart after Close: %v", err)
	}
}

// A plain encoder (not Restartable) that breaks still ends Run with its
// error, as before: TestPipelineEncoderFailure.
