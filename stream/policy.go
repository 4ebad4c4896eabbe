package stream

import (
	"sort"
	"time"
)

// PolicyOptions configure the bitrate policy. Zero values take the
// documented defaults.
type PolicyOptions struct {
	// Floor and Ceiling bound the encoder target, in bits per second
	// (defaults 150 kbit/s and 6 Mbit/s). No viewer drags the target below
	// the floor.
	Floor, Ceiling int
	// Initial is the target while no viewer reports an estimate (default
	// 2 Mbit/s, clamped to Floor..Ceiling).
	Initial int
	// Down is how far below the target the lowest estimate must be to cut
	// it at once (default 0.10: more than 10 % below).
	Down float64
	// Up is how far above the target the lowest estimate must stay, for
	// UpHold, before the target rises (default 0.10).
	Up float64
	// UpHold is how long the estimates must stay above before each step up
	// (default 500 ms).
	UpHold time.Duration
	// UpStep is the largest factor of one step up (default 2).
	UpStep float64
	// MinInterval is the least time between two encoder updates (default
	// 250 ms: at most four a second).
	MinInterval time.Duration
	// BelowFloorAfter is how long a viewer's estimate must stay below the
	// floor before it is reported (default 3 s).
	BelowFloorAfter time.Duration
}

func (o PolicyOptions) withDefaults() PolicyOptions {
	if o.Floor <= 0 {
		o.Floor = 150_000
	}
	if o.Ceiling <= 0 {
		o.Ceiling = 6_000_000
	}
	if o.Ceiling < o.Floor {
		o.Ceiling = o.Floor
	}
	if o.Initial <= 0 {
		o.Initial = 2_000_000
	}
	o.Initial = min(max(o.Initial, o.Floor), o.Ceiling)
	if o.Down <= 0 {
		o.Down = 0.10
	}
	if o.Up <= 0 {
		o.Up = 0.10
	}
	if o.UpHold <= 0 {
		o.UpHold = 500 * time.Millisecond
	}
	if o.UpStep <= 1 {
		o.UpStep = 2
	}
	if o.MinInterval <= 0 {
		o.MinInterval = 250 * time.Millisecond
	}
	if o.BelowFloorAfter <= 0 {
		o.BelowFloorAfter = 3 * time.Second
	}
	return o
}

// ViewerEstimate is one viewer's view of its network.
type ViewerEstimate struct {
	ID string
	// Bitrate is the viewer's estimated available rate in bits per second;
	// 0 means unknown (the viewer sends neither TWCC nor REMB, or nothing
	// lately), and an unknown viewer does not constrain the others.
	Bitrate int
}

// Decision is the outcome of one Policy.Update.
type Decision struct {
	Target  int  // the encoder target, bits per second
	Changed bool // Target differs from the previous decision's
	// Limit is the viewer whose estimate sets the target ("" when none
	// does: no viewer reports one, or the target sits at the ceiling).
	Limit string
	// BelowFloor lists the viewers whose estimates have stayed below the
	// floor for BelowFloorAfter, sorted; Reported and Cleared are the ones
	// that joined and left that list in this update.
	BelowFloor, Reported, Cleared []string
}

// Policy turns the viewers' bandwidth estimates into one encoder target:
// the lowest estimate, clamped to Floor..Ceiling, cut at once when it
// falls more than Down below the target, raised only after it stayed more
// than Up above for UpHold, by at most UpStep at a time, and never updated
// more often than MinInterval. Time is passed in, so it runs in tests
// without waiting.
type Policy struct {
	o       PolicyOptions
	lo, hi  int // effective range: the options within the encoder's range
	target  int
	changed time.Time // when target last changed

	aboveSince time.Time // when the lowest estimate first stayed above
	aboveLow   int       // the lowest of it since

	belowSince map[string]time.Time
	reported   map[string]bool
}

// NewPolicy returns a policy at the initial target.
func NewPolicy(o PolicyOptions) *Policy {
	o = o.withDefaults()
	return &Policy{
		o: o, lo: o.Floor, hi: o.Ceiling, target: o.Initial,
		belowSince: make(map[string]time.Time), reported: make(map[string]bool),
	}
}

// LimitTo narrows the range to what the encoder accepts (lo..hi bits per
// second); 0 leaves a bound as configured.
func (p *Policy) LimitTo(lo, hi int) {
	if lo > p.lo {
		p.lo = lo
	}
	if hi > 0 && hi < p.hi {
		p.hi = hi
	}
	if p.hi < p.lo {
		p.hi = p.lo
	}
	p.target = p.clamp(p.target)
}

// Range returns the floor and ceiling in force.
func (p *Policy) Range() (floor, ceiling int) { return p.lo, p.hi }

// Target returns the current target.
func (p *Policy) Target() int { return p.target }

func (p *Policy) clamp(b int) int { return min(max(b, p.lo), p.hi) }

// Update takes the current estimates and returns the target.
func (p *Policy) Update(now time.Time, est []ViewerEstimate) Decision {
	d := Decision{}
	low, limit := 0, ""
	below := make(map[string]bool, len(est))
	for _, e := range est {
		if e.Bitrate <= 0 {
			continue
		}
		if low == 0 || e.Bitrate < low {
			low, limit = e.Bitrate, e.ID
		}
		if e.Bitrate < p.lo {
			below[e.ID] = true
			if _, ok := p.belowSince[e.ID]; !ok {
				p.belowSince[e.ID] = now
			}
		}
	}
	for id, since := range p.belowSince {
		switch {
		case !below[id]:
			if p.reported[id] {
				d.Cleared = append(d.Cleared, id)
			}
			delete(p.belowSince, id)
			delete(p.reported, id)
		case !p.reported[id] && now.Sub(since) >= p.o.BelowFloorAfter:
			p.reported[id] = true
			d.Reported = append(d.Reported, id)
		}
	}
	for id := range p.reported {
		d.BelowFloor = append(d.BelowFloor, id)
	}
	sort.Strings(d.BelowFloor)
	sort.Strings(d.Reported)
	sort.Strings(d.Cleared)

	want := p.o.Initial
	if low > 0 {
		want = low
	}
	prev := p.target
	p.step(now, p.clamp(want))
	d.Target, d.Changed = p.target, p.target != prev
	if low > 0 && low < p.hi {
		d.Limit = limit
	}
	return d
}

// step moves the target towards want with the hysteresis and rate limit.
func (p *Policy) step(now time.Time, want int) {
	cur := float64(p.target)
	mayChange := p.changed.IsZero() || now.Sub(p.changed) >= p.o.MinInterval
	switch {
	case float64(want) < cur*(1-p.o.Down):
		p.aboveSince = time.Time{}
		if mayChange {
			p.set(now, want)
		}
	// Within Up of the ceiling still climbs to it, or the target would
	// stop short of it for good.
	case float64(want) > cur*(1+p.o.Up) || (want > p.target && want == p.hi):
		if p.aboveSince.IsZero() {
			p.aboveSince, p.aboveLow = now, want
			return
		}
		p.aboveLow = min(p.aboveLow, want)
		if now.Sub(p.aboveSince) < p.o.UpHold || !mayChange {
			return
		}
		next := min(p.aboveLow, int(cur*p.o.UpStep))
		if next > p.target {
			p.set(now, next)
		}
		// The next step needs its own hold.
		p.aboveSince, p.aboveLow = now, want
	default:
		p.aboveSince = time.Time{}
	}
}

func (p *Policy) set(now time.Time, b int) {
	p.target = p.clamp(b)
	p.changed = now
}
