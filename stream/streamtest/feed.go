package streamtest

import (
	"context"
	"sync"
	"time"
)

// Encoder is a fake encoder for a hub: ForceKeyframe makes the next access
// unit Feed writes an IDR, and SetBitrate records the targets it is given.
type Encoder struct {
	mu     sync.Mutex
	want   bool
	forced int
	rates  []int
}

// ForceKeyframe asks for an IDR in the next unit.
func (e *Encoder) ForceKeyframe() { e.mu.Lock(); e.want, e.forced = true, e.forced+1; e.mu.Unlock() }

// SetBitrate records bps.
func (e *Encoder) SetBitrate(bps int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rates = append(e.rates, bps)
	return nil
}

// Forced counts ForceKeyframe calls.
func (e *Encoder) Forced() int { e.mu.Lock(); defer e.mu.Unlock(); return e.forced }

// Rate is the last target SetBitrate was given, 0 before the first.
func (e *Encoder) Rate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.rates) == 0 {
		return 0
	}
	return e.rates[len(e.rates)-1]
}

// keyDue reports whether a keyframe was asked for since the last call.
func (e *Encoder) keyDue() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := e.want
	e.want = false
	return w
}

// AccessUnit is a fake H.264 access unit of about size bytes in Annex-B:
// SPS, PPS and an IDR slice when key, else one non-IDR slice. The SPS says
// constrained baseline, level 3.1.
func AccessUnit(key bool, size int) []byte {
	var b []byte
	if key {
		b = append(b, 0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0xda, 0x01, 0x40)
		b = append(b, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80)
		b = append(b, 0, 0, 0, 1, 0x65)
	} else {
		b = append(b, 0, 0, 0, 1, 0x41)
	}
	for len(b) < size {
		b = append(b, 0xaa)
	}
	return b
}

// Writer takes access units: a stream.Hub.
type Writer interface {
	Write(data []byte, keyframe bool, captured time.Time, seq uint64)
}

// Feed writes an access unit of size bytes into w every interval until ctx
// ends: an IDR every gop units and whenever enc was asked for one.
func Feed(ctx context.Context, w Writer, enc *Encoder, every time.Duration, gop uint64, size int) {
	t := time.NewTicker(every)
	defer t.Stop()
	for seq := uint64(0); ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		key := enc.keyDue() || seq%gop == 0
		w.Write(AccessUnit(key, size), key, time.Now(), seq)
	}
}
