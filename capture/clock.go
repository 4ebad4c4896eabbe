package capture

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// Clock tells the time and makes timers for sources that pace themselves.
// SystemClock is the real one; tests pass a fake (see package capturetest)
// and run a second of video in microseconds.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer a source uses.
type Timer interface {
	C() <-chan time.Time
	// Reset makes the timer fire d from now; a value it had not delivered
	// yet is dropped.
	Reset(d time.Duration)
	Stop()
}

// SystemClock is the machine's clock. Its times carry the monotonic
// reading.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a timer backed by time.NewTimer.
func (SystemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time   { return t.t.C }
func (t sysTimer) Reset(d time.Duration) { t.t.Reset(d) }
func (t sysTimer) Stop()                 { t.t.Stop() }

// pacer schedules frames at a fixed rate: frame n is due at start + n/fps,
// computed from the start each time so that rounding never accumulates
// into drift. A pacer that wakes late (the process stalled, or the
// consumer of the previous frame held it up) produces only the latest due
// frame and counts the ones it passed over, rather than catching up in a
// burst.
type pacer struct {
	clock   Clock
	period  float64 // nanoseconds per frame
	start   time.Time
	next    uint64 // index of the next frame
	started bool
	timer   Timer
	skipped *atomic.Uint64
}

func newPacer(c Clock, fps float64, skipped *atomic.Uint64) *pacer {
	return &pacer{clock: c, period: float64(time.Second) / fps, skipped: skipped}
}

func (p *pacer) due(n uint64) time.Duration {
	return time.Duration(math.Round(float64(n) * p.period))
}

// wait blocks until a frame is due and returns its index and the time. It
// returns false when ctx is done.
func (p *pacer) wait(ctx context.Context) (uint64, time.Time, bool) {
	if ctx.Err() != nil {
		return 0, time.Time{}, false
	}
	if !p.started {
		p.started, p.start, p.next = true, p.clock.Now(), 1
		return 0, p.start, true
	}
	for {
		now := p.clock.Now()
		elapsed := now.Sub(p.start)
		if d := p.due(p.next) - elapsed; d > 0 {
			if p.timer == nil {
				p.timer = p.clock.NewTimer(d)
			} else {
				p.timer.Reset(d)
			}
			select {
			case <-ctx.Done():
				return 0, time.Time{}, false
			case <-p.timer.C():
			}
			continue
		}
		n := p.latest(elapsed)
		p.skipped.Add(n - p.next)
		p.next = n + 1
		return n, now, true
	}
}

// latest returns the index of the last frame due by elapsed, at least
// p.next.
func (p *pacer) latest(elapsed time.Duration) uint64 {
	n := max(p.next, uint64(float64(elapsed)/p.period))
	for p.due(n+1) <= elapsed {
		n++
	}
	for n > p.next && p.due(n) > elapsed {
		n--
	}
	return n
}

func (p *pacer) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}
