package v4l2

import (
	"errors"
	"testing"
	"time"
)

// TestFilePollDoesNotAllocate: waiting for a frame allocates nothing
// (/dev/null is always ready).
func TestFilePollDoesNotAllocate(t *testing.T) {
	c, err := OpenFile("/dev/null")
	if err != nil {
		t.Skip(err)
	}
	defer c.Close()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := c.Poll(PollIn, time.Second); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Poll allocates %v times", allocs)
	}
}

// TestFilePollInterrupt: Interrupt ends a wait in progress, and one made
// before the wait ends the next.
func TestFilePollInterrupt(t *testing.T) {
	r, err := OpenFile("/dev/null")
	if err != nil {
		t.Skip(err)
	}
	defer r.Close()
	c := r.(*fileConn)
	c.Interrupt()
	// /dev/null is ready too, but the interrupt wins: it is checked first.
	if _, err := c.Poll(PollIn, time.Second); !errors.Is(err, ErrInterrupted) {
		t.Errorf("Poll after Interrupt = %v, want ErrInterrupted", err)
	}
	if _, err := c.Poll(PollIn, time.Second); err != nil {
		t.Errorf("second Poll = %v, want ready", err)
	}
}
