package stream

import "time"

// Probing: GCC alone climbs back slowly once a bottleneck lifts (about 8 %
// a second, and no faster than 1.5 times what it sees arrive, which is
// only what the encoder sends). So a viewer's sender now and then sends a
// short cluster above its estimate, padding on top of the video, and
// measures from TWCC feedback what arrived; when the path kept up, the
// estimate jumps to what the probe carried and the next probe doubles it.
// This is libwebrtc's exponential probing in small.

// probeAhead is how far above the encoder target a viewer's estimate may
// climb by probing: two doublings, so that estimates are ahead when the
// policy steps the target up.
const probeAhead = 4

// saturatedBackoff is GCC's beta: after overuse it goes to this share of
// what arrived.
const saturatedBackoff = 0.85

// proberOptions configure probing. Zero values take the defaults.
type proberOptions struct {
	// Interval is the least time between probes after one that did not
	// lead on (default 2 s: a lifted bottleneck is found within it); one
	// that did leads on to the next at once.
	Interval time.Duration
	// Duration is how long a cluster lasts (default 100 ms).
	Duration time.Duration
	// Factor is the probe rate over the estimate (default 2).
	Factor float64
	// Quiet is how long after a cut of the estimate or loss no probe goes
	// out (default 1 s): the path is full then.
	Quiet time.Duration
	// Timeout ends the wait for a cluster's feedback (default 1 s).
	Timeout time.Duration
	// Off sends no probes: when the estimates do not steer the encoder
	// (encoder.adaptive off), a faster estimate is not worth the padding.
	Off bool
}

func (o proberOptions) withDefaults() proberOptions {
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.Duration <= 0 {
		o.Duration = 100 * time.Millisecond
	}
	if o.Factor <= 1 {
		o.Factor = 2
	}
	if o.Quiet <= 0 {
		o.Quiet = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	return o
}

// probeInput is what the prober weighs before a probe.
type probeInput struct {
	estimate int // the viewer's estimate, bits per second
	target   int // the encoder target
	ceiling  int // no use probing above it
	// quietSince is the last cut of the estimate or the last loss.
	quietSince time.Time
}

// prober decides when to probe and what a probe's result means. It keeps
// no clock of its own: every call gets the time.
type prober struct {
	o      proberOptions
	last   time.Time // when the last probe ended
	onward bool      // the last probe found more room: probe on at once
	// counters
	sent, succeeded uint64
}

// want returns the rate of a probe to start now, or 0.
func (p *prober) want(now time.Time, in probeInput) int {
	switch {
	case in.estimate <= 0 || in.ceiling <= 0:
		return 0
	case float64(in.estimate) >= 0.9*float64(in.ceiling):
		return 0 // nothing to gain
	case in.target > 0 && in.estimate > probeAhead*in.target:
		// Far above what the encoder makes: another viewer or the
		// policy holds the target down; more room here changes nothing.
		return 0
	case !in.quietSince.IsZero() && now.Sub(in.quietSince) < p.o.Quiet:
		return 0
	case !p.last.IsZero() && !p.onward && now.Sub(p.last) < p.o.Interval:
		return 0
	}
	p.sent++
	return min(int(p.o.Factor*float64(in.estimate)), in.ceiling)
}

// done takes the measurement of a probe sent at rate (ok false when there
// was none worth the name) and returns the rate to restart the estimate
// at, or 0 to leave it.
func (p *prober) done(now time.Time, rate, estimate int, r probeResult, ok bool) int {
	p.last = now
	p.onward = false
	if !ok {
		return 0
	}
	// A probe the path carried shows that rate is there. One it could not
	// carry shows what the path holds at most: the estimate may go to
	// what GCC itself goes back to after overuse, 85 % of that.
	next := r.Rate
	if r.Saturated {
		next = int(saturatedBackoff * float64(r.recvRate))
	}
	if float64(next) <= 1.1*float64(estimate) {
		return 0
	}
	// If the path carried nearly all of the probe, there may be more.
	p.onward = !r.Saturated && float64(r.Rate) >= 0.8*float64(rate)
	p.succeeded++
	return next
}
