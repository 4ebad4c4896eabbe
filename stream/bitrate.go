package stream

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// BitrateSetter is what the bitrate policy needs from an encoder.
// encode.Encoder satisfies it.
type BitrateSetter interface {
	SetBitrate(bps int) error
}

// BitrateRanger is implemented by encoders that know the bitrates they
// accept; the policy then keeps within them as well as within its floor
// and ceiling.
type BitrateRanger interface {
	BitrateRange() (lo, hi int)
}

// rateControlInterval is how often the policy looks at the estimates.
const rateControlInterval = 100 * time.Millisecond

// rateControl runs the policy: it gathers the viewers' estimates, asks the
// policy for the target and hands it to the encoder.
type rateControl struct {
	setter  BitrateSetter // nil: the target is computed and shown only
	log     *slog.Logger
	viewers func() []*session
	now     func() time.Time

	target  atomic.Int64 // read by the viewers' senders and new estimators
	initial int          // the target without a setter

	mu       sync.Mutex
	policy   *Policy
	last     Decision
	updates  uint64
	failures uint64

	done chan struct{}
	wg   sync.WaitGroup
}

func newRateControl(setter BitrateSetter, o PolicyOptions, viewers func() []*session, log *slog.Logger) *rateControl {
	p := NewPolicy(o)
	if r, ok := setter.(BitrateRanger); ok {
		p.LimitTo(r.BitrateRange())
	}
	c := &rateControl{setter: setter, log: log, viewers: viewers, now: time.Now, policy: p, initial: p.Target(), done: make(chan struct{})}
	c.target.Store(int64(p.Target()))
	c.last.Target = p.Target()
	return c
}

// start sets the encoder to the initial target and updates it every
// rateControlInterval until stop.
func (c *rateControl) start() {
	if c.setter != nil {
		if err := c.setter.SetBitrate(c.policy.Target()); err != nil {
			c.log.Warn("setting the encoder bitrate", "err", err)
		}
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(rateControlInterval)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
				c.tick()
			}
		}
	}()
}

func (c *rateControl) stop() {
	close(c.done)
	c.wg.Wait()
}

// rangeNow returns the floor and ceiling in force.
func (c *rateControl) rangeNow() (floor, ceiling int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.policy.Range()
}

// currentTarget is the encoder target in bits per second.
func (c *rateControl) currentTarget() int { return int(c.target.Load()) }

// tick runs the policy once.
func (c *rateControl) tick() {
	var est []ViewerEstimate
	for _, v := range c.viewers() {
		if v.bwe == nil || !v.isConnected() {
			continue
		}
		b, _ := v.bwe.estimate()
		est = append(est, ViewerEstimate{ID: v.id, Bitrate: b})
	}
	c.mu.Lock()
	d := c.policy.Update(c.now(), est)
	if c.setter == nil {
		// Nothing to steer: the encoder stays where it was configured;
		// the policy still reports viewers below the floor.
		d.Target, d.Changed, d.Limit = c.initial, false, ""
	}
	c.last = d
	floor, _ := c.policy.Range()
	if d.Changed {
		c.updates++
	}
	c.mu.Unlock()
	c.target.Store(int64(d.Target))
	if d.Changed && c.setter != nil {
		if err := c.setter.SetBitrate(d.Target); err != nil {
			c.mu.Lock()
			c.failures++
			c.mu.Unlock()
			c.log.Warn("setting the encoder bitrate", "bps", d.Target, "err", err)
		}
	}
	if d.Changed {
		c.log.Debug("encoder bitrate", "bps", d.Target, "limited_by", d.Limit, "viewers", len(est))
	}
	for _, id := range d.Reported {
		c.log.Warn("viewer below the bitrate floor: it will see loss and stalls",
			"viewer", id, "estimate_bps", estimateOf(est, id), "floor_bps", floor)
	}
	for _, id := range d.Cleared {
		c.log.Info("viewer no longer below the bitrate floor", "viewer", id)
	}
}

func estimateOf(est []ViewerEstimate, id string) int {
	for _, e := range est {
		if e.ID == id {
			return e.Bitrate
		}
	}
	return 0
}

// BitrateStatus is the policy's state in /api/status.
type BitrateStatus struct {
	// Adaptive is true when camd steers the encoder's bitrate.
	Adaptive   bool   `json:"adaptive"`
	TargetBps  int    `json:"target_bps"`
	FloorBps   int    `json:"floor_bps"`
	CeilingBps int    `json:"ceiling_bps"`
	LimitedBy  string `json:"limited_by"` // the viewer whose estimate sets the target
	// BelowFloor lists the viewers reported below the floor.
	BelowFloor []string `json:"below_floor"`
	Updates    uint64   `json:"updates"`
	Failures   uint64   `json:"failures"`
}

func (c *rateControl) status() BitrateStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	lo, hi := c.policy.Range()
	below := c.last.BelowFloor
	if below == nil {
		below = []string{}
	}
	return BitrateStatus{
		Adaptive: c.setter != nil, TargetBps: c.last.Target, FloorBps: lo, CeilingBps: hi,
		LimitedBy: c.last.Limit, BelowFloor: below, Updates: c.updates, Failures: c.failures,
	}
}
