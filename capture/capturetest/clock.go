// Package capturetest helps test code that uses package capture: a fake
// clock that moves only when the test says so, and Compare for decoded
// pictures.
package capturetest

import (
	"sync"
	"time"

	"github.com/camd-project/camd/capture"
)

// Clock is a capture.Clock whose time stands still until Advance. Timers
// fire when Advance moves the time past their deadline, or at once when
// reset to a deadline already passed.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
}

// NewClock returns a clock that reads start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the time forward by d and fires the timers that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if t.active && !t.when.After(c.now) {
			t.fire(c.now)
		}
	}
}

// Waiting returns how many timers are armed and not yet due: a test can
// poll it to know that a source has gone to sleep.
func (c *Clock) Waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if t.active {
			n++
		}
	}
	return n
}

// NewTimer returns a timer that fires d from now.
func (c *Clock) NewTimer(d time.Duration) capture.Timer {
	t := &timer{c: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

type timer struct {
	c      *Clock
	ch     chan time.Time
	when   time.Time
	active bool
}

// fire delivers now; the caller holds c.mu.
func (t *timer) fire(now time.Time) {
	t.active = false
	select {
	case t.ch <- now:
	default:
	}
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.drain()
	t.when, t.active = t.c.now.Add(d), true
	if d <= 0 {
		t.fire(t.c.now)
	}
}

func (t *timer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.active = false
	t.drain()
}

func (t *timer) drain() {
	select {
	case <-t.ch:
	default:
	}
}
