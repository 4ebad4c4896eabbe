package stream

import (
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp/codecs"
)

// HubOptions configure a Hub. Zero values take the documented defaults.
type HubOptions struct {
	// Keyframes is asked for an IDR when a viewer starts, loses data or
	// sends PLI/FIR. It may be nil when the source cannot make keyframes on
	// demand (a file, some cameras): viewers then wait for the next one.
	Keyframes KeyframeRequester
	// KeyframeInterval is the least time between two forced keyframes
	// (default 500 ms): requests inside it are folded into one.
	KeyframeInterval time.Duration
	// JoinWindow is how old a keyframe may be for a new viewer to start on
	// it (default 150 ms): the hub keeps the current GOP while it is that
	// young and shorter than the queue, and a viewer that arrives then
	// gets it at once, with no keyframe forced. A viewer arriving later
	// forces one, at most one per JoinWindow for new viewers (PLI and
	// losses keep KeyframeInterval). So N viewers joining together cost
	// about one keyframe per JoinWindow, and none waits for the next GOP.
	JoinWindow time.Duration
	// QueueDepth is how many access units a viewer may fall behind before
	// it drops (default 4, ~130 ms at 30 fps). Latency comes first.
	QueueDepth int
	// MTU is the largest RTP payload (default 1200 bytes, safe on any path).
	MTU    uint16
	Logger *slog.Logger

	now   func() time.Time
	after timerFunc
}

// unit is one access unit, packetized once and shared by every viewer.
type unit struct {
	payloads [][]byte
	ts       uint32 // RTP timestamp, 90 kHz
	keyframe bool
	captured time.Time
	seq      uint64
}

// Hub fans one encode out to all viewers. Write packetizes an access unit
// once; each viewer's goroutine then stamps its own RTP headers. A viewer
// that falls behind drops whole access units (never blocking Write or the
// other viewers) and waits for the next keyframe, which it asks for.
type Hub struct {
	opts      HubOptions
	keyframes *coalescer
	forced    *forcedBy
	log       *slog.Logger

	payloader codecs.H264Payloader // used by Write only
	start     time.Time
	tsBase    uint32

	mu   sync.Mutex
	subs map[*Subscriber]struct{}
	// gop holds the units since the last keyframe while a new viewer may
	// start on them (see JoinWindow); empty otherwise.
	gop   []*unit
	gopAt time.Time // when its keyframe was written

	joinedCached atomic.Uint64 // viewers started on the cached GOP

	units, bytes, keyframesOut atomic.Uint64
	lastUnit                   atomic.Int64 // unix nanos of the last Write

	params paramSets // SPS and PPS of the latest keyframe, for RTSP's SDP
}

// NewHub returns a hub with no viewers.
func NewHub(opts HubOptions) *Hub {
	if opts.KeyframeInterval <= 0 {
		opts.KeyframeInterval = 500 * time.Millisecond
	}
	if opts.QueueDepth <= 0 {
		opts.QueueDepth = 4
	}
	if opts.JoinWindow <= 0 {
		opts.JoinWindow = 150 * time.Millisecond
	}
	if opts.MTU == 0 {
		opts.MTU = 1200
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	if opts.after == nil {
		opts.after = realAfterFunc
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	fb := &forcedBy{target: opts.Keyframes, counts: make(map[string]uint64)}
	var target KeyframeRequester
	if opts.Keyframes != nil {
		target = fb
	}
	return &Hub{
		opts:      opts,
		keyframes: newCoalescer(target, opts.KeyframeInterval, opts.now, opts.after).withJoin(opts.JoinWindow),
		forced:    fb,
		log:       opts.Logger,
		start:     opts.now(),
		tsBase:    binary.BigEndian.Uint32(b[:]),
		subs:      make(map[*Subscriber]struct{}),
	}
}

// Write hands one H.264 access unit (Annex-B) to every viewer. It never
// blocks on a viewer. data may be reused by the caller once Write returns.
func (h *Hub) Write(data []byte, keyframe bool, captured time.Time, seq uint64) {
	if captured.IsZero() {
		captured = h.opts.now()
	}
	u := &unit{
		payloads: h.payloader.Payload(h.opts.MTU, data),
		ts:       h.tsBase + uint32(captured.Sub(h.start)*90000/time.Second),
		keyframe: keyframe,
		captured: captured,
		seq:      seq,
	}
	if len(u.payloads) == 0 {
		return // only parameter sets: the payloader keeps them for the next picture
	}
	h.units.Add(1)
	h.bytes.Add(uint64(len(data)))
	if keyframe {
		h.keyframesOut.Add(1)
		h.params.note(data)
	}
	h.lastUnit.Store(captured.UnixNano())

	var askKeyframe bool
	h.mu.Lock()
	h.keepGOP(u)
	for s := range h.subs {
		if s.deliver(u) {
			askKeyframe = true
		}
	}
	h.mu.Unlock()
	if askKeyframe {
		h.request(ReasonDrop)
	}
}

// keepGOP caches u for new viewers, under h.mu: a keyframe starts a new
// GOP; later units join it while a new viewer's queue can hold it all
// with room to spare, after which it is dropped until the next keyframe.
func (h *Hub) keepGOP(u *unit) {
	switch {
	case u.keyframe:
		clear(h.gop)
		h.gop = append(h.gop[:0], u)
		h.gopAt = h.opts.now()
	case len(h.gop) > 0 && len(h.gop) < h.opts.QueueDepth-1:
		h.gop = append(h.gop, u)
	default:
		clear(h.gop)
		h.gop = h.gop[:0]
	}
}

// RequestKeyframe asks the encoder for a keyframe, coalesced with other
// requests. reason is one of the Reason constants.
func (h *Hub) RequestKeyframe(reason string) { h.request(reason) }

func (h *Hub) request(reason string) {
	h.forced.note(reason)
	h.keyframes.Request(reason)
}

// forcedBy sits between the coalescer and the encoder and counts each
// forced keyframe under the reason of the first request it serves.
type forcedBy struct {
	target KeyframeRequester

	mu      sync.Mutex
	pending string // first reason since the last forced keyframe
	counts  map[string]uint64
}

func (f *forcedBy) note(reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending == "" {
		f.pending = reason
	}
}

func (f *forcedBy) ForceKeyframe() {
	f.mu.Lock()
	r := f.pending
	if r == "" {
		r = "other"
	}
	f.counts[r]++
	f.pending = ""
	f.mu.Unlock()
	f.target.ForceKeyframe()
}

func (f *forcedBy) snapshot() map[string]uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]uint64, len(f.counts))
	for k, v := range f.counts {
		out[k] = v
	}
	return out
}

// Subscribe adds a viewer. It starts on the cached GOP when its keyframe
// is at most JoinWindow old; otherwise it receives nothing until the next
// keyframe, which it asks for. Close the subscriber when the viewer goes.
func (h *Hub) Subscribe() *Subscriber {
	s := &Subscriber{hub: h, ch: make(chan *unit, h.opts.QueueDepth), waiting: true}
	h.mu.Lock()
	cached := len(h.gop) > 0 && h.opts.now().Sub(h.gopAt) <= h.opts.JoinWindow
	if cached {
		for _, u := range h.gop { // fits: the GOP is kept shorter than the queue
			s.ch <- u
		}
		s.delivered.Add(uint64(len(h.gop)))
		s.waiting = false
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	if cached {
		h.joinedCached.Add(1)
	} else {
		h.request(ReasonNewViewer)
	}
	return s
}

// Viewers is the number of subscribers.
func (h *Hub) Viewers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Close stops keyframe timers and ends every subscriber's channel.
func (h *Hub) Close() {
	h.keyframes.Close()
	h.mu.Lock()
	subs := h.subs
	h.subs = make(map[*Subscriber]struct{})
	h.mu.Unlock()
	for s := range subs {
		s.closeChan()
	}
}

// HubStats is a snapshot of the hub's counters.
type HubStats struct {
	AccessUnits uint64
	Bytes       uint64
	Keyframes   uint64
	Viewers     int
	LastUnit    time.Time // capture time of the newest access unit
	Keyframe    KeyframeStats
	// ForcedBy counts forced keyframes by the reason of the first request
	// each one served.
	ForcedBy map[string]uint64
	// JoinedCached counts viewers that started on the cached GOP, without
	// a keyframe request.
	JoinedCached uint64
}

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	s := HubStats{
		AccessUnits: h.units.Load(),
		Bytes:       h.bytes.Load(),
		Keyframes:   h.keyframesOut.Load(),
		Viewers:     h.Viewers(),
		Keyframe:    h.keyframes.Stats(),
		ForcedBy:    h.forced.snapshot(),

		JoinedCached: h.joinedCached.Load(),
	}
	if n := h.lastUnit.Load(); n != 0 {
		s.LastUnit = time.Unix(0, n)
	}
	return s
}

// Subscriber is one viewer's feed from the hub.
type Subscriber struct {
	hub *Hub
	ch  chan *unit

	// Guarded by hub.mu.
	waiting bool // dropping until the next keyframe
	closed  bool

	delivered, dropped, skipped atomic.Uint64
}

// deliver offers u to the subscriber, under hub.mu. It reports whether the
// subscriber just lost data and needs a keyframe.
func (s *Subscriber) deliver(u *unit) (needKeyframe bool) {
	if s.closed {
		return false
	}
	if s.waiting && !u.keyframe {
		s.skipped.Add(1)
		return false
	}
	select {
	case s.ch <- u:
		s.waiting = false
		s.delivered.Add(1)
		return false
	default:
		s.dropped.Add(1)
		if s.waiting {
			return false // already asked
		}
		s.waiting = true
		return true
	}
}

// C delivers access units: the first is a keyframe, and after a drop the
// next one is a keyframe again. It is closed when the subscriber or the hub
// is closed.
func (s *Subscriber) C() <-chan *unit { return s.ch }

// Close removes the subscriber from the hub.
func (s *Subscriber) Close() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
	s.closeChan()
}

func (s *Subscriber) closeChan() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}

// SubscriberStats counts what a viewer got.
type SubscriberStats struct {
	Delivered uint64 // access units handed to the viewer
	Dropped   uint64 // lost because the viewer was behind
	Skipped   uint64 // passed over while waiting for a keyframe
}

// Stats returns the subscriber's counters.
func (s *Subscriber) Stats() SubscriberStats {
	return SubscriberStats{Delivered: s.delivered.Load(), Dropped: s.dropped.Load(), Skipped: s.skipped.Load()}
}
