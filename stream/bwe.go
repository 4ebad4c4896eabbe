package stream

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// bweOptions configure a viewer's bandwidth estimator.
type bweOptions struct {
	// Initial, Min and Max bound GCC, in bits per second. Initial is the
	// encoder's target when the viewer arrives: the rate it will get first.
	Initial, Min, Max int
	// Stale is how long without feedback an estimate stays known
	// (default 2 s).
	Stale  time.Duration
	Prober proberOptions
	Now    func() time.Time
	Log    *slog.Logger
}

// Estimate sources, as shown in status and metrics.
const (
	SourceTWCC = "twcc"
	SourceREMB = "remb"
)

// estimator is one viewer's bandwidth estimator, handed to pion's cc
// interceptor: it runs pion's send-side GCC on the viewer's TWCC feedback,
// and on top of it measures probes (restarting GCC at a probe's result),
// loss, retransmissions, and the REMB of viewers that send no TWCC.
type estimator struct {
	o bweOptions

	mu      sync.Mutex
	gcc     *gcc.SendSideBWE
	gccW    interceptor.RTPWriter // GCC's side of the stream
	info    *interceptor.StreamInfo
	next    interceptor.RTPWriter // towards the wire
	extID   uint8                 // TWCC header extension, 0 without
	onRate  func(int)
	highSeq uint16 // newest media sequence number sent
	anySent bool
	closed  bool
	sentAt  [mediaLogSize]int64 // Unix nanoseconds, by media sequence number, for retransmissions

	attrMu sync.Mutex             // held while attrs is on its way down
	attrs  interceptor.Attributes // lent to packets written without attributes

	sent     sendLog
	clock    twccClock
	scratch  []twccArrival
	lastTWCC time.Time
	loss     float64 // smoothed share of packets lost, from TWCC
	lastLoss time.Time
	lastEst  int
	lastCut  time.Time
	remb     int
	rembAt   time.Time
	lastLog  time.Time

	prober  prober
	cluster struct {
		id          uint32
		rate        int
		until       time.Time
		first, last uint16
		any         bool
	}

	retransmits, tooOld, padding, paddingBytes, restarts uint64
}

// maxRetransmitAge is the oldest packet worth sending again: later than
// this a viewer has given it up and asked for a keyframe (libwebrtc
// keeps packets for about a second). A viewer's track keeps 1024
// packets (nackHistory), which is a minute of a slow stream;
// retransmitting all of it would fill the path the viewer lost packets on.
const maxRetransmitAge = time.Second

// mediaLogSize is how many media packets' send times are kept: as many as
// a track keeps for NACKs.
const mediaLogSize = nackHistory

func newEstimator(o bweOptions) (*estimator, error) {
	if o.Stale <= 0 {
		o.Stale = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	o.Initial = min(max(o.Initial, o.Min), o.Max)
	e := &estimator{o: o, prober: prober{o: o.Prober.withDefaults()}, lastEst: o.Initial}
	g, err := e.newGCC(o.Initial)
	if err != nil {
		return nil, err
	}
	e.gcc = g
	return e, nil
}

// newGCC makes a GCC starting at rate. camd paces in the session, so GCC
// gets a pass-through pacer: pion's leaky bucket queues without bound.
func (e *estimator) newGCC(rate int) (*gcc.SendSideBWE, error) {
	return gcc.NewSendSideBWE(
		gcc.SendSideBWEInitialBitrate(rate),
		gcc.SendSideBWEMinBitrate(e.o.Min),
		gcc.SendSideBWEMaxBitrate(e.o.Max),
		gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
	)
}

// AddStream puts the estimator in the viewer's RTP path (cc.Interceptor
// calls it once, for the video track).
func (e *estimator) AddStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.info, e.next = info, writer
	for _, x := range info.RTPHeaderExtensions {
		if x.URI == twccURI {
			e.extID = uint8(x.ID)
		}
	}
	e.gccW = e.gcc.AddStream(info, interceptor.RTPWriterFunc(e.tap))
	e.attrs = make(interceptor.Attributes, 1)
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		e.mu.Lock()
		w := e.gccW
		if h.SSRC != e.info.SSRC {
			w = interceptor.RTPWriterFunc(e.tap) // GCC's pacer knows only the media SSRC
		} else if e.anySent && !seqNewer(h.SequenceNumber, e.highSeq) {
			if sent := e.sentAt[int(h.SequenceNumber)%mediaLogSize]; sent == 0 || e.o.Now().UnixNano()-sent > int64(maxRetransmitAge) {
				e.tooOld++
				e.mu.Unlock()
				return h.MarshalSize() + len(payload), nil // dropped: too late to help
			}
		}
		e.mu.Unlock()
		if a != nil {
			return w.Write(h, payload, a)
		}
		// pion's track writer passes no attributes, and GCC would make a
		// map for every packet to note the TWCC extension in: one map,
		// emptied, serves them all.
		e.attrMu.Lock()
		defer e.attrMu.Unlock()
		clear(e.attrs)
		return w.Write(h, payload, e.attrs)
	})
}

// tap notes every packet as it leaves: its transport-wide sequence number
// for feedback, retransmissions, padding.
func (e *estimator) tap(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	now := e.o.Now()
	size := h.MarshalSize() + len(payload) + int(h.PaddingSize)
	e.mu.Lock()
	if h.SSRC == e.info.SSRC {
		if e.anySent && !seqNewer(h.SequenceNumber, e.highSeq) {
			e.retransmits++
		} else {
			e.highSeq, e.anySent = h.SequenceNumber, true
			e.sentAt[int(h.SequenceNumber)%mediaLogSize] = now.UnixNano()
		}
		if len(payload) == 0 && h.PaddingSize > 0 {
			e.padding++
			e.paddingBytes += uint64(size)
		}
	}
	if e.extID != 0 {
		var ext rtp.TransportCCExtension
		if raw := h.GetExtension(e.extID); raw != nil && ext.Unmarshal(raw) == nil {
			p := sentPacket{seq: ext.TransportSequence, at: now.UnixNano(), size: int32(size)}
			if c := &e.cluster; c.id != 0 && now.Before(c.until) {
				p.cluster = c.id
				if !c.any {
					c.first, c.any = p.seq, true
				}
				c.last = p.seq
			}
			e.sent.add(p)
		}
	}
	next := e.next
	e.mu.Unlock()
	return next.Write(h, payload, a)
}

// setLogger names the viewer in the estimator's logs (it is made before
// the session knows it).
func (e *estimator) setLogger(l *slog.Logger) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.o.Log = l
}

// seqNewer reports whether RTP sequence number a comes after b.
func seqNewer(a, b uint16) bool { return a != b && a-b < 1<<15 }

// WriteRTCP takes every RTCP packet the viewer sends (cc.Interceptor calls
// it). Errors are logged, never returned: an error here would end the
// session's RTCP reader.
func (e *estimator) WriteRTCP(pkts []rtcp.Packet, a interceptor.Attributes) error {
	now := e.o.Now()
	e.mu.Lock()
	g, log := e.gcc, e.o.Log
	for _, p := range pkts {
		if fb, ok := p.(*rtcp.TransportLayerCC); ok {
			e.onTWCC(now, fb)
		}
	}
	e.mu.Unlock()
	if err := g.WriteRTCP(pkts, a); err != nil && !errors.Is(err, gcc.ErrSendSideBWEClosed) {
		log.Debug("gcc feedback", "err", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if g == e.gcc {
		est := g.GetTargetBitrate()
		if float64(est) < 0.95*float64(e.lastEst) {
			e.lastCut = now
		}
		e.lastEst = est
	}
	e.finishProbe(now)
	if now.Sub(e.lastLog) >= time.Second && e.o.Log.Enabled(context.Background(), slog.LevelDebug) {
		e.lastLog = now
		st := g.GetStats()
		e.o.Log.Debug("gcc", "estimate", e.lastEst, "delay_bps", st["delayTargetBitrate"], "loss_bps", st["lossTargetBitrate"],
			"usage", st["usage"], "loss", e.loss, "too_old", e.tooOld)
	}
	return nil
}

// onTWCC marks the packets feedback reports on and tracks loss.
func (e *estimator) onTWCC(now time.Time, fb *rtcp.TransportLayerCC) {
	e.lastTWCC = now
	e.scratch = e.clock.parseTWCC(fb, e.scratch[:0])
	known, lost := 0, 0
	for _, a := range e.scratch {
		p := e.sent.get(a.seq)
		if p == nil || (p.reported && p.received) {
			continue
		}
		first := !p.reported
		p.reported, p.received, p.arrival = true, a.received, a.at
		if first {
			known++
			if !a.received {
				lost++
			}
		}
	}
	if known == 0 {
		return
	}
	// Smoothed over about a second of feedback.
	share := float64(lost) / float64(known)
	w := min(1, now.Sub(e.lastLoss).Seconds())
	if e.lastLoss.IsZero() {
		w = 1
	}
	e.loss += w * (share - e.loss)
	e.lastLoss = now
	if share > 0.02 {
		e.lastCut = now
	}
}

// onREMB records a viewer's REMB (rtcp.ReceiverEstimatedMaximumBitrate).
func (e *estimator) onREMB(bps int) {
	now := e.o.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.remb, e.rembAt = bps, now
}

// estimate returns the viewer's estimated rate and where it comes from:
// GCC while TWCC feedback flows, else the latest REMB, else 0 and "".
func (e *estimator) estimate() (int, string) {
	now := e.o.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case !e.lastTWCC.IsZero() && now.Sub(e.lastTWCC) < e.o.Stale:
		return e.gcc.GetTargetBitrate(), SourceTWCC
	case !e.rembAt.IsZero() && now.Sub(e.rembAt) < e.o.Stale:
		return e.remb, SourceREMB
	}
	return 0, ""
}

// GetTargetBitrate is the estimate (cc.BandwidthEstimator).
func (e *estimator) GetTargetBitrate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.gcc.GetTargetBitrate()
}

// OnTargetBitrateChange is passed on to GCC (camd polls instead).
func (e *estimator) OnTargetBitrateChange(f func(int)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onRate = f
	e.gcc.OnTargetBitrateChange(f)
}

// GetStats returns GCC's statistics.
func (e *estimator) GetStats() map[string]any {
	e.mu.Lock()
	g := e.gcc
	e.mu.Unlock()
	return g.GetStats()
}

// Close stops GCC.
func (e *estimator) Close() error {
	e.mu.Lock()
	e.closed = true
	g := e.gcc
	e.mu.Unlock()
	return g.Close()
}

// bweStats is a snapshot for status and metrics.
type bweStats struct {
	Estimate                      int
	Source                        string
	Loss                          float64
	Retransmits                   uint64
	Padding, PaddingBytes         uint64
	Probes, ProbesOK, GCCRestarts uint64
}

func (e *estimator) stats() bweStats {
	est, src := e.estimate()
	e.mu.Lock()
	defer e.mu.Unlock()
	return bweStats{
		Estimate: est, Source: src, Loss: e.loss, Retransmits: e.retransmits,
		Padding: e.padding, PaddingBytes: e.paddingBytes,
		Probes: e.prober.sent, ProbesOK: e.prober.succeeded, GCCRestarts: e.restarts,
	}
}
