package stream

import (
	"math"
	"time"
)

// Pacing, after libwebrtc's pacer: a viewer's packets leave at a multiple
// of its estimate rather than in one burst per picture, so a keyframe does
// not overflow a small router queue and the delay GCC measures is the
// path's, not the burst's. While a probe runs, the pacer runs at the probe
// rate and padding fills what the video leaves.
const (
	pacingFactor  = 2.5
	pacingMin     = 300_000 // bits/s: the least base for the pacing rate
	pacingBurst   = 5 * time.Millisecond
	packetOverIP  = 60  // bytes a packet costs beyond its payload: RTP, extensions, SRTP tag, UDP, IP
	paddingLength = 255 // the most padding one RTP packet carries (the count is one byte)
	maxPacket     = 1500
)

// pacer is a token bucket in bytes. The bucket holds at most pacingBurst
// at the current rate (never less than two full packets) and may go into
// debt by one packet: the next then waits until the debt is paid.
type pacer struct {
	rate   float64 // bytes per second; +Inf: no pacing
	tokens float64
	last   time.Time
}

// setRate sets the pacing rate in bits per second; 0 turns pacing off.
func (p *pacer) setRate(bps int) {
	if bps <= 0 {
		p.rate = math.Inf(1)
		return
	}
	p.rate = float64(bps) / 8
}

func (p *pacer) burst() float64 {
	return max(p.rate*pacingBurst.Seconds(), 2*maxPacket)
}

func (p *pacer) refill(now time.Time) {
	if math.IsInf(p.rate, 1) {
		p.tokens, p.last = 0, now
		return
	}
	if !p.last.IsZero() && now.After(p.last) {
		p.tokens = min(p.burst(), p.tokens+p.rate*now.Sub(p.last).Seconds())
	}
	p.last = now
}

// wait returns how long until the next packet may go.
func (p *pacer) wait(now time.Time) time.Duration {
	p.refill(now)
	if p.tokens >= 0 || math.IsInf(p.rate, 1) {
		return 0
	}
	return time.Duration(-p.tokens / p.rate * float64(time.Second))
}

// spend takes n bytes from the bucket.
func (p *pacer) spend(now time.Time, n int) {
	p.refill(now)
	if !math.IsInf(p.rate, 1) {
		p.tokens -= float64(n)
	}
}

// paceRate is the pacing rate for a viewer: pacingFactor times the larger
// of its estimate and the encoder target, 0 (no pacing) when neither is
// known; while a probe above the video's rate runs, the probe's rate
// (a probe below it, of a viewer whose estimate fell under the target,
// just measures the video).
func paceRate(probe, estimate, target int) int {
	if probe > 0 && probe >= target {
		return probe
	}
	base := max(estimate, target)
	if base <= 0 {
		return 0
	}
	return int(pacingFactor * float64(max(base, pacingMin)))
}
