package capturetest

import (
	"testing"
	"time"
)

func fired(t *testing.T, c <-chan time.Time) (time.Time, bool) {
	t.Helper()
	select {
	case v := <-c:
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestClock(t *testing.T) {
	start := time.Unix(1000, 0)
	c := NewClock(start)
	tm := c.NewTimer(10 * time.Millisecond)
	if c.Waiting() != 1 {
		t.Errorf("Waiting = %d, want 1", c.Waiting())
	}
	c.Advance(9 * time.Millisecond)
	if _, ok := fired(t, tm.C()); ok {
		t.Error("timer fired early")
	}
	c.Advance(time.Millisecond)
	if v, ok := fired(t, tm.C()); !ok || !v.Equal(start.Add(10*time.Millisecond)) {
		t.Errorf("timer: %v %v, want a fire at +10ms", v, ok)
	}
	if c.Waiting() != 0 {
		t.Errorf("Waiting after firing = %d", c.Waiting())
	}
	// A deadline already passed fires at once; Reset drops an undelivered
	// value; Stop disarms.
	tm.Reset(-time.Second)
	tm.Reset(5 * time.Millisecond)
	if _, ok := fired(t, tm.C()); ok {
		t.Error("Reset kept a stale value")
	}
	tm.Reset(0)
	if _, ok := fired(t, tm.C()); !ok {
		t.Error("Reset(0) did not fire")
	}
	tm.Reset(time.Millisecond)
	tm.Stop()
	c.Advance(time.Second)
	if _, ok := fired(t, tm.C()); ok {
		t.Error("stopped timer fired")
	}
	if !c.Now().Equal(start.Add(1010 * time.Millisecond)) {
		t.Errorf("Now = %v", c.Now())
	}
}
