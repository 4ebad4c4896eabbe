package encode

import (
	"fmt"
	"sync"

	"github.com/camd-project/camd/capture"
)

// Restartable is an Encoder that can be rebuilt when it breaks: a
// software encoder in a bad state, a hardware encoder whose driver wedged
// beyond its own recovery. A Pipeline whose encoder is a Restartable
// rebuilds it after maxFailures failed frames in a row instead of ending,
// so the HTTP server, the hub and every connected viewer carry on; the new
// encoder starts with an IDR, which is what the viewers decode from.
//
// The bitrate last set survives a restart. Its methods are safe for
// concurrent use; Encode is called from one goroutine at a time.
type Restartable struct {
	build func() (Encoder, error)

	mu       sync.Mutex
	cur      Encoder // nil after a failed rebuild, until the next
	bitrate  int     // last SetBitrate, 0 if never
	restarts int
	closed   bool
}

// NewRestartable builds the first encoder with build and returns it
// wrapped; build is called again on every Restart.
func NewRestartable(build func() (Encoder, error)) (*Restartable, error) {
	e, err := build()
	if err != nil {
		return nil, err
	}
	return &Restartable{build: build, cur: e}, nil
}

func (r *Restartable) current() Encoder {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// Encode encodes with the current encoder; between a failed rebuild and
// the next it fails with ErrClosed.
func (r *Restartable) Encode(f *capture.Frame) (AccessUnit, bool, error) {
	e := r.current()
	if e == nil {
		return AccessUnit{}, false, fmt.Errorf("encode.Restartable: no encoder since the last failed restart: %w", ErrClosed)
	}
	return e.Encode(f)
}

// SetBitrate sets the bitrate now and for every encoder built later.
func (r *Restartable) SetBitrate(bps int) error {
	r.mu.Lock()
	r.bitrate = bps
	e := r.cur
	r.mu.Unlock()
	if e == nil {
		return nil
	}
	return e.SetBitrate(bps)
}

// ForceKeyframe asks the current encoder for an IDR (a new one starts with
// one anyway).
func (r *Restartable) ForceKeyframe() {
	if e := r.current(); e != nil {
		e.ForceKeyframe()
	}
}

// Name is the current encoder's name.
func (r *Restartable) Name() string {
	if e := r.current(); e != nil {
		return e.Name()
	}
	return "none (restarting)"
}

// Restarts is how many times the encoder was rebuilt.
func (r *Restartable) Restarts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.restarts
}

// Restart closes the current encoder and builds a new one with the last
// bitrate. On error there is no encoder until a later Restart succeeds.
// The close error of the broken encoder is not reported: it is broken.
func (r *Restartable) Restart() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	old := r.cur
	r.cur = nil
	r.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	e, err := r.build()
	if err != nil {
		return fmt.Errorf("encode.Restartable.Restart: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		_ = e.Close()
		return ErrClosed
	}
	r.cur = e
	r.restarts++
	if r.bitrate > 0 {
		if err := e.SetBitrate(r.bitrate); err != nil {
			return fmt.Errorf("encode.Restartable.Restart: SetBitrate: %w", err)
		}
	}
	return nil
}

// Close closes the current encoder; Restart fails afterwards.
func (r *Restartable) Close() error {
	r.mu.Lock()
	e := r.cur
	r.cur, r.closed = nil, true
	r.mu.Unlock()
	if e == nil {
		return nil
	}
	return e.Close()
}
