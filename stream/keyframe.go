package stream

import (
	"sync"
	"time"
)

// KeyframeRequester is what the hub needs from an encoder to start new
// viewers and repair lost pictures. encode.Encoder satisfies it.
type KeyframeRequester interface {
	ForceKeyframe()
}

// Reasons a keyframe is asked for, as counted in KeyframeStats.
const (
	ReasonNewViewer = "new_viewer"
	ReasonPLI       = "pli"
	ReasonFIR       = "fir"
	ReasonDrop      = "viewer_drop"
	ReasonLoss      = "unrepaired_loss" // a NACK camd could not answer in time
)

// timerFunc schedules f after d and returns a function that cancels it.
// It is time.AfterFunc in production and a fake in tests.
type timerFunc func(d time.Duration, f func()) (stop func() bool)

func realAfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// coalescer turns bursts of keyframe requests into at most one forced
// keyframe per interval. The first request in a quiet period acts at once
// (a new viewer should not wait); requests inside the interval are folded
// into one that fires when the interval ends, so none is lost. New
// viewers' requests use the shorter join interval, when one is set.
type coalescer struct {
	target   KeyframeRequester
	interval time.Duration
	join     time.Duration // for ReasonNewViewer; 0: interval
	now      func() time.Time
	after    timerFunc

	mu        sync.Mutex
	last      time.Time // when a keyframe was last forced
	scheduled bool
	due       time.Time // when the scheduled one fires
	stop      func() bool
	requests  map[string]uint64 // per reason
	forced    uint64
}

func newCoalescer(target KeyframeRequester, interval time.Duration, now func() time.Time, after timerFunc) *coalescer {
	return &coalescer{
		target:   target,
		interval: interval,
		now:      now,
		after:    after,
		requests: make(map[string]uint64),
	}
}

// withJoin sets the interval for new viewers' requests, when shorter.
func (c *coalescer) withJoin(d time.Duration) *coalescer {
	if d > 0 && d < c.interval {
		c.join = d
	}
	return c
}

// Request asks for a keyframe, giving the reason for the counters.
func (c *coalescer) Request(reason string) {
	c.mu.Lock()
	c.requests[reason]++
	if c.target == nil {
		c.mu.Unlock()
		return
	}
	interval := c.interval
	if reason == ReasonNewViewer && c.join > 0 {
		interval = c.join
	}
	now := c.now()
	wait := interval - now.Sub(c.last)
	if c.scheduled && !now.Add(wait).Before(c.due) {
		c.mu.Unlock()
		return // the one scheduled comes soon enough
	}
	if c.last.IsZero() || wait <= 0 {
		if c.scheduled && c.stop != nil {
			c.stop()
		}
		c.scheduled, c.stop = false, nil
		c.last = now
		c.forced++
		c.mu.Unlock()
		c.target.ForceKeyframe()
		return
	}
	if c.scheduled && c.stop != nil {
		c.stop() // a new viewer's shorter interval moves it earlier
	}
	due := now.Add(wait)
	c.scheduled, c.due = true, due
	c.stop = c.after(wait, func() { c.fire(due) })
	c.mu.Unlock()
}

// fire forces the keyframe scheduled for due (a rescheduled timer that
// could not be stopped in time finds another due and does nothing).
func (c *coalescer) fire(due time.Time) {
	c.mu.Lock()
	if !c.scheduled || !c.due.Equal(due) {
		c.mu.Unlock()
		return
	}
	c.scheduled = false
	c.stop = nil
	c.last = c.now()
	c.forced++
	c.mu.Unlock()
	c.target.ForceKeyframe()
}

// Close cancels a scheduled keyframe.
func (c *coalescer) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	c.scheduled = false
}

// KeyframeStats counts keyframe requests by reason and the keyframes that
// were actually forced after coalescing.
type KeyframeStats struct {
	Requests map[string]uint64
	Forced   uint64
}

func (c *coalescer) Stats() KeyframeStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := KeyframeStats{Requests: make(map[string]uint64, len(c.requests)), Forced: c.forced}
	for k, v := range c.requests {
		s.Requests[k] = v
	}
	return s
}
