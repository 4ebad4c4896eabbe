package stream

import (
	"math"
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// readRTCP keeps RTCP flowing through the interceptors (GCC, reports),
// turns PLI and FIR into keyframe requests, answers NACKs (a loss it
// cannot repair asks for a keyframe too), and reads what
// the viewer says about its reception: REMB, receiver reports.
func (s *session) readRTCP() {
	defer s.wg.Done()
	var (
		lost    []uint16
		budget  retransmitBudget
		lossKey time.Time // when this viewer's loss last asked for a keyframe
	)
	for {
		pkts, _, err := s.sender.ReadRTCP()
		if err != nil {
			return
		}
		now := time.Now()
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication:
				s.pli.Add(1)
				s.hub.RequestKeyframe(ReasonPLI)
			case *rtcp.FullIntraRequest:
				s.fir.Add(1)
				s.hub.RequestKeyframe(ReasonFIR)
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				if s.bwe != nil && p.Bitrate > 0 {
					s.bwe.onREMB(int(min(p.Bitrate, math.MaxInt32)))
				}
			case *rtcp.TransportLayerNack:
				s.nacks.Add(1)
				lost = lost[:0]
				for _, pair := range p.Nacks {
					pair.Range(func(seq uint16) bool { lost = append(lost, seq); return true })
				}
				s.nacked.Add(uint64(len(lost)))
				_, unrepaired, err := s.track.resend(lost, now, s.resendInterval(), s.retransmitBudget(&budget, now))
				if err != nil {
					s.writeFailed(err)
				}
				if unrepaired > 0 {
					s.unrepaired.Add(uint64(unrepaired))
					if lossKey.IsZero() || now.Sub(lossKey) >= lossKeyframeEvery {
						lossKey = now
						s.hub.RequestKeyframe(ReasonLoss)
					}
				}
			case *rtcp.ReceiverReport:
				s.rx.onReports(now, p.Reports)
			case *rtcp.SenderReport:
				s.rx.onReports(now, p.Reports)
			}
		}
	}
}

// lossKeyframeEvery is the least time between two keyframes one viewer's
// unrepairable loss asks for. The encode is shared: a viewer whose link
// loses much (one below the floor) must not make everyone's stream mostly
// keyframes; at this rate it costs no more than a 2 s GOP does.
const lossKeyframeEvery = 2 * time.Second

// resendInterval is how long a packet resent is not sent again: a round
// trip and a little, the time its copy needs to arrive and the viewer to
// stop asking (pion's responder waits the same).
func (s *session) resendInterval() time.Duration {
	_, _, rtt := s.rx.snapshot()
	return rtt + 5*time.Millisecond
}

// retransmitBudget gives resend the viewer's budget at its target bitrate:
// the estimate, or the encoder's target when camd estimates nothing; nil,
// no limit, when camd knows neither.
func (s *session) retransmitBudget(b *retransmitBudget, now time.Time) func(int) bool {
	var target func() int
	switch {
	case s.bwe != nil:
		target = s.bwe.GetTargetBitrate
	case s.targetFn != nil:
		target = s.targetFn
	default:
		return nil
	}
	bps := target()
	return func(size int) bool { return b.allow(now, size, bps) }
}

// reception is what a viewer's receiver reports say (RFC 3550 §6.4.2).
type reception struct {
	mu       sync.Mutex
	ssrc     uint32 // our media SSRC; 0 takes any block
	fraction float64
	lost     int64
	rtt      time.Duration // 0 until an SR was echoed
	at       time.Time
}

func (r *reception) onReports(now time.Time, blocks []rtcp.ReceptionReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range blocks {
		if r.ssrc != 0 && b.SSRC != r.ssrc {
			continue
		}
		r.fraction = float64(b.FractionLost) / 256
		r.lost = int64(b.TotalLost)
		if b.TotalLost&0x800000 != 0 { // 24-bit signed
			r.lost -= 1 << 24
		}
		r.at = now
		if b.LastSenderReport != 0 {
			if rtt := rttFromReport(now, b.LastSenderReport, b.Delay); rtt > 0 {
				r.rtt = rtt
			}
		}
	}
}

func (r *reception) snapshot() (fraction float64, lost int64, rtt time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fraction, r.lost, r.rtt
}

// ntpShort is the middle 32 bits of the NTP timestamp of t: seconds since
// 1900 in the top half, the fraction in the bottom.
func ntpShort(t time.Time) uint32 {
	const ntpEpochOffset = 2_208_988_800
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32((secs<<32 | frac) >> 16)
}

// rttFromReport is now − LSR − DLSR (RFC 3550 §6.4.1), in units of 1/65536
// s; 0 when the result makes no sense (clocks, a stale echo).
func rttFromReport(now time.Time, lsr, dlsr uint32) time.Duration {
	d := ntpShort(now) - lsr - dlsr
	if d >= 1<<31 {
		return 0
	}
	return time.Duration(uint64(d) * uint64(time.Second) >> 16)
}
