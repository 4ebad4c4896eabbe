package stream

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// policyRun drives a Policy with a hand-moved clock.
type policyRun struct {
	t   *testing.T
	p   *Policy
	now time.Time
	d   Decision
}

func newPolicyRun(t *testing.T, o PolicyOptions) *policyRun {
	return &policyRun{t: t, p: NewPolicy(o), now: time.Unix(1_700_000_000, 0)}
}

// at advances the clock by d and updates with the estimates (id, bitrate
// pairs).
func (r *policyRun) at(d time.Duration, est ...ViewerEstimate) Decision {
	r.now = r.now.Add(d)
	r.d = r.p.Update(r.now, est)
	return r.d
}

func (r *policyRun) want(target int) {
	r.t.Helper()
	if r.d.Target != target {
		r.t.Fatalf("target %d, want %d (decision %+v)", r.d.Target, target, r.d)
	}
}

func v(id string, bps int) ViewerEstimate { return ViewerEstimate{ID: id, Bitrate: bps} }

func TestPolicyNoViewersKeepsInitial(t *testing.T) {
	r := newPolicyRun(t, PolicyOptions{Floor: 200_000, Ceiling: 8_000_000, Initial: 3_000_000})
	r.at(0)
	r.want(3_000_000)
	// A viewer that reports nothing does not constrain.
	r.at(time.Second, v("a", 0))
	r.want(3_000_000)
	if r.d.Limit != "" || r.d.Changed {
		t.Fatalf("unknown viewer limited the target: %+v", r.d)
	}
}

func TestPolicyDownAtOnceUpInSteps(t *testing.T) {
	r := newPolicyRun(t, PolicyOptions{Floor: 200_000, Ceiling: 8_000_000, Initial: 2_000_000})
	// 5 % below: inside the hysteresis, no change.
	r.at(100*time.Millisecond, v("a", 1_900_000))
	r.want(2_000_000)
	// 50 % below: down at once, to the estimate.
	if d := r.at(100*time.Millisecond, v("a", 1_000_000)); !d.Changed || d.Limit != "a" {
		t.Fatalf("no immediate cut: %+v", d)
	}
	r.want(1_000_000)
	// The estimate recovers to 6 Mbit/s: nothing for UpHold, then doubling
	// steps, each after its own hold.
	r.at(100*time.Millisecond, v("a", 6_000_000))
	r.want(1_000_000)
	r.at(400*time.Millisecond, v("a", 6_000_000))
	r.want(1_000_000)
	r.at(100*time.Millisecond, v("a", 6_000_000))
	r.want(2_000_000)
	r.at(250*time.Millisecond, v("a", 6_000_000))
	r.want(2_000_000)
	r.at(250*time.Millisecond, v("a", 6_000_000))
	r.want(4_000_000)
	r.at(500*time.Millisecond, v("a", 6_000_000))
	r.want(6_000_000)
}

func TestPolicyUpNeedsTheEstimateToHold(t *testing.T) {
	r := newPolicyRun(t, PolicyOptions{Floor: 200_000, Ceiling: 8_000_000, Initial: 1_000_000})
	// A spike shorter than the hold changes nothing.
	r.at(100*time.Millisecond, v("a", 5_000_000))
	r.at(300*time.Millisecond, v("a", 5_000_000))
	r.at(100*time.Millisecond, v("a", 1_050_000)) // back inside the band: the hold restarts
	r.at(300*time.Millisecond, v("a", 5_000_000))
	r.at(300*time.Millisecond, v("a", 5_000_000))
	r.want(1_000_000)
	// A step goes no higher than the lowest estimate seen while holding.
	r.at(100*time.Millisecond, v("a", 1_300_000))
	r.at(500*time.Millisecond, v("a", 5_000_000))
	r.want(1_300_000)
}

func TestPolicyRateLimitsUpdates(t *testing.T) {
	r := newPolicyRun(t, PolicyOptions{Floor: 100_000, Ceiling: 8_000_000, Initial: 4_000_000})
	r.at(0, v("a", 3_000_000))
	r.want(3_000_000)
	// Another cut 100 ms later waits for MinInterval (250 ms).
	r.at(100*time.Millisecond, v("a", 1_000_000))
	r.want(3_000_000)
	r.at(100*time.Millisecond, v("a", 1_000_000))
	r.want(3_000_000)
	r.at(50*time.Millisecond, v("a", 1_000_000))
	r.want(1_000_000)
}

func TestPolicyMinimumClampedToRange(t *testing.T) {
	r := newPolicyRun(t, PolicyOptions{Floor: 500_000, Ceiling: 6_000_000, Initial: 2_000_000})
	r.at(0, v("a", 3_000_000), v("b", 1_500_000), v("c", 0))
	r.want(1_500_000)
	if r.d.Limit != "b" {
		t.Fatalf("limit %q, want b", r.d.Limit)
	}
	// b goes below the floor: the target stops at the floor.
	r.at(time.Second, v("a", 3_000_000), v("b", 100_000))
	r.want(500_000)
	// b leaves: a's estimate, reached in steps; above the ceiling it is the
	// ceiling, and within Up of it the target still gets there.
	for range 10 {
		r.at(500*time.Millisecond, v("a", 50_000_000))
	}
	r.want(6_000_000)
	if r.d.Limit != "" {
		t.Fatalf("limit %q at the ceiling, want none", r.d.Limit)
	}
	r.at(time.Second, v("a", 5_600_000))
	r.want(6_000_000)
	r.at(time.Second, v("a", 5_300_000))
	r.want(5_300_000)
	for range 3 {
		r.at(500*time.Millisecond, v("a", 6_200_000))
	}
	r.want(6_000_000)
}

func TestPolicyReportsViewersBelowTheFloor(t *testing.T) {
	r := newPolicyRun(t, PolicyOptions{Floor: 1_000_000, Ceiling: 8_000_000, Initial: 4_000_000, BelowFloorAfter: 3 * time.Second})
	r.at(0, v("slow", 300_000), v("fast", 8_000_000))
	r.want(1_000_000) // not below the floor, whoever is slower
	r.at(2*time.Second, v("slow", 300_000), v("fast", 8_000_000))
	if len(r.d.BelowFloor) != 0 {
		t.Fatalf("reported after 2 s: %+v", r.d)
	}
	// A short rise above the floor restarts the clock.
	r.at(500*time.Millisecond, v("slow", 1_200_000), v("fast", 8_000_000))
	r.at(500*time.Millisecond, v("slow", 300_000), v("fast", 8_000_000))
	r.at(2900*time.Millisecond, v("slow", 300_000), v("fast", 8_000_000))
	if len(r.d.BelowFloor) != 0 {
		t.Fatalf("reported 2.9 s after coming back below: %+v", r.d)
	}
	r.at(100*time.Millisecond, v("slow", 300_000), v("fast", 8_000_000))
	if !slices.Equal(r.d.Reported, []string{"slow"}) || !slices.Equal(r.d.BelowFloor, []string{"slow"}) {
		t.Fatalf("not reported after 3 s: %+v", r.d)
	}
	r.want(1_000_000)
	r.at(time.Second, v("slow", 300_000), v("fast", 8_000_000))
	if len(r.d.Reported) != 0 || !slices.Equal(r.d.BelowFloor, []string{"slow"}) {
		t.Fatalf("reported twice or dropped: %+v", r.d)
	}
	// It recovers: cleared once.
	r.at(time.Second, v("slow", 2_000_000), v("fast", 8_000_000))
	if !slices.Equal(r.d.Cleared, []string{"slow"}) || len(r.d.BelowFloor) != 0 {
		t.Fatalf("not cleared: %+v", r.d)
	}
	// Reported again, then it leaves: cleared too.
	r.at(time.Second, v("slow", 100_000))
	r.at(4*time.Second, v("slow", 100_000))
	r.at(time.Second, v("fast", 8_000_000))
	if !slices.Equal(r.d.Cleared, []string{"slow"}) {
		t.Fatalf("a viewer that left stays reported: %+v", r.d)
	}
}

func TestPolicyLimitTo(t *testing.T) {
	p := NewPolicy(PolicyOptions{Floor: 100_000, Ceiling: 10_000_000, Initial: 9_000_000})
	p.LimitTo(200_000, 5_000_000)
	if lo, hi := p.Range(); lo != 200_000 || hi != 5_000_000 || p.Target() != 5_000_000 {
		t.Fatalf("range %d..%d target %d", lo, hi, p.Target())
	}
	p.LimitTo(0, 0) // no bounds: unchanged
	if lo, hi := p.Range(); lo != 200_000 || hi != 5_000_000 {
		t.Fatalf("range %d..%d after LimitTo(0, 0)", lo, hi)
	}
}

// TestPolicyInvariants feeds random estimates and checks what the policy
// promises whatever happens: the target stays in range, changes at most
// once per MinInterval, climbs by at most UpStep, never climbs above the
// lowest estimate, and follows a fall of the lowest estimate within
// MinInterval.
func TestPolicyInvariants(t *testing.T) {
	o := PolicyOptions{Floor: 300_000, Ceiling: 8_000_000, Initial: 2_000_000}.withDefaults()
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 50 {
		r := newPolicyRun(t, o)
		var lastChange time.Time
		lowSince := map[int]time.Time{}
		prev := r.p.Target()
		for range 400 {
			n := rng.IntN(4)
			est := make([]ViewerEstimate, n)
			low := 0
			for i := range est {
				b := 0
				if rng.IntN(5) > 0 {
					b = 100_000 + rng.IntN(12_000_000)
				}
				est[i] = ViewerEstimate{ID: string(rune('a' + i)), Bitrate: b}
				if b > 0 && (low == 0 || b < low) {
					low = b
				}
			}
			d := r.at(time.Duration(rng.IntN(300))*time.Millisecond, est...)
			switch {
			case d.Target < o.Floor || d.Target > o.Ceiling:
				t.Fatalf("run %d: target %d outside %d..%d", run, d.Target, o.Floor, o.Ceiling)
			case d.Changed && !lastChange.IsZero() && r.now.Sub(lastChange) < o.MinInterval:
				t.Fatalf("run %d: changed %v after the last change", run, r.now.Sub(lastChange))
			case d.Target > prev && float64(d.Target) > float64(prev)*o.UpStep:
				t.Fatalf("run %d: climbed from %d to %d", run, prev, d.Target)
			case d.Target > prev && low > 0 && d.Target > max(low, o.Floor):
				t.Fatalf("run %d: climbed to %d above the lowest estimate %d", run, d.Target, low)
			}
			// A target more than Down above the (clamped) lowest estimate
			// must not last beyond MinInterval.
			if want := max(low, o.Floor); low > 0 && float64(want) < float64(d.Target)*(1-o.Down) {
				if _, ok := lowSince[d.Target]; !ok {
					lowSince[d.Target] = r.now
				}
				if r.now.Sub(lowSince[d.Target]) > o.MinInterval {
					t.Fatalf("run %d: target %d stayed above the lowest estimate %d for %v", run, d.Target, low, r.now.Sub(lowSince[d.Target]))
				}
			} else {
				clear(lowSince)
			}
			if d.Changed {
				lastChange = r.now
				clear(lowSince)
			}
			prev = d.Target
		}
	}
}
