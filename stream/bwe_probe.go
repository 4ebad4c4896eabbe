package stream

import (
	"time"

	"github.com/pion/interceptor"
)

// probe returns the rate to send at while a probe cluster is on, starting
// one when the prober says so; 0 when there is none. target is the
// encoder's.
func (e *estimator) probe(target int) int {
	now := e.o.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	c := &e.cluster
	if c.id != 0 {
		if now.Before(c.until) {
			return c.rate
		}
		return 0 // waiting for its feedback
	}
	if e.o.Prober.Off || e.extID == 0 || e.closed || e.lastTWCC.IsZero() || now.Sub(e.lastTWCC) >= e.o.Stale {
		return 0
	}
	rate := e.prober.want(now, probeInput{
		estimate: e.gcc.GetTargetBitrate(), target: target, ceiling: e.o.Max, quietSince: e.lastCut,
	})
	if rate == 0 {
		return 0
	}
	c.id, c.rate, c.until, c.any = uint32(e.prober.sent), rate, now.Add(e.prober.o.Duration), false
	return rate
}

// finishProbe measures the cluster once feedback covered it, or gives up
// on it after the timeout.
func (e *estimator) finishProbe(now time.Time) {
	c := &e.cluster
	if c.id == 0 || now.Before(c.until) {
		return
	}
	timedOut := now.Sub(c.until) > e.prober.o.Timeout
	if c.any {
		if p := e.sent.get(c.last); p != nil && !p.reported && !timedOut {
			return
		}
	} else if !timedOut {
		return
	}
	var pkts []*sentPacket
	for s, n := c.first, 0; c.any && n < sendLogSize; s, n = s+1, n+1 {
		if p := e.sent.get(s); p != nil && p.cluster == c.id && p.reported {
			pkts = append(pkts, p)
		}
		if s == c.last {
			break
		}
	}
	r, ok := evalProbe(pkts)
	est := e.gcc.GetTargetBitrate()
	restart := e.prober.done(now, c.rate, est, r, ok)
	e.o.Log.Debug("probe", "rate", c.rate, "estimate", est, "ok", ok, "sent", r.sent, "received", r.received,
		"send_bps", r.sendRate, "recv_bps", r.recvRate, "result", r.Rate, "saturated", r.Saturated, "restart", restart)
	c.id = 0
	if restart > 0 {
		e.restartGCC(min(restart, e.o.Max))
	}
}

// restartGCC replaces GCC with one that starts at rate: pion's GCC has no
// way to set its estimate, and a probe showed the path carries rate.
func (e *estimator) restartGCC(rate int) {
	g, err := e.newGCC(rate)
	if err != nil {
		e.o.Log.Warn("restarting GCC", "err", err)
		return
	}
	if e.onRate != nil {
		g.OnTargetBitrateChange(e.onRate)
	}
	old := e.gcc
	e.gcc, e.lastEst = g, rate
	if e.info != nil {
		e.gccW = g.AddStream(e.info, interceptor.RTPWriterFunc(e.tap))
	}
	e.restarts++
	// Close waits for a WriteRTCP on the old one to finish, which may be
	// waiting for e.mu.
	go func() { _ = old.Close() }()
}
