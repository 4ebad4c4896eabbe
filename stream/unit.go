package stream

import (
	"sync"
	"time"

	"github.com/camd-project/camd/capture/h264"
)

// Payloads are the access unit's RTP payloads (RFC 6184, packetization
// mode 1: single NAL units, STAP-A, FU-A), each at most the hub's MTU. They
// are shared by every viewer and must not be modified.
func (u *unit) Payloads() [][]byte { return u.payloads }

// Timestamp is the access unit's RTP timestamp (90 kHz), the same for
// every viewer.
func (u *unit) Timestamp() uint32 { return u.ts }

// Keyframe reports whether the access unit is an IDR (with SPS and PPS).
func (u *unit) Keyframe() bool { return u.keyframe }

// Captured is the capture time of the picture.
func (u *unit) Captured() time.Time { return u.captured }

// paramSets keeps the SPS and PPS of the latest keyframe.
type paramSets struct {
	mu    sync.Mutex
	cache h264.ParamCache
}

func (p *paramSets) note(au []byte) {
	p.mu.Lock()
	p.cache.Apply(au)
	p.mu.Unlock()
}

func (p *paramSets) get() (sps, pps []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cache.SPS(), p.cache.PPS()
}

// ParamSets returns the SPS and PPS NAL units (without start codes) of the
// latest keyframe, or nils before the first one. Callers must not modify
// them.
func (h *Hub) ParamSets() (sps, pps []byte) { return h.params.get() }
