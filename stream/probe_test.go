package stream

import (
	"testing"
	"time"
)

func TestProberWhen(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	p := prober{o: proberOptions{}.withDefaults()}
	in := probeInput{estimate: 1_000_000, target: 1_000_000, ceiling: 8_000_000}
	for _, c := range []struct {
		what string
		in   probeInput
	}{
		{"no estimate", probeInput{target: 1_000_000, ceiling: 8_000_000}},
		{"at the ceiling", probeInput{estimate: 7_500_000, target: 7_500_000, ceiling: 8_000_000}},
		{"far above the target", probeInput{estimate: 4_500_000, target: 1_000_000, ceiling: 8_000_000}},
		{"right after a cut", probeInput{estimate: 1_000_000, target: 1_000_000, ceiling: 8_000_000, quietSince: t0.Add(-500 * time.Millisecond)}},
	} {
		if r := p.want(t0, c.in); r != 0 {
			t.Errorf("%s: probe at %d", c.what, r)
		}
	}
	if r := p.want(t0, in); r != 2_000_000 {
		t.Fatalf("first probe at %d, want twice the estimate", r)
	}
	if r := p.want(t0, probeInput{estimate: 5_000_000, target: 5_000_000, ceiling: 8_000_000}); r != 8_000_000 {
		t.Fatalf("probe at %d above the ceiling", r)
	}
	// A probe that found nothing: the next waits for Interval.
	p.done(t0, 2_000_000, 1_000_000, probeResult{}, false)
	if r := p.want(t0.Add(1900*time.Millisecond), in); r != 0 {
		t.Fatalf("probe %v after a failed one", 1900*time.Millisecond)
	}
	if r := p.want(t0.Add(2*time.Second), in); r == 0 {
		t.Fatal("no probe after the interval")
	}
	// One that raised the estimate leads on at once.
	if up := p.done(t0, 2_000_000, 1_000_000, probeResult{Rate: 1_950_000, recvRate: 1_950_000}, true); up != 1_950_000 {
		t.Fatalf("unsaturated probe at 1.95 Mbit/s restarts at %d", up)
	}
	if r := p.want(t0.Add(10*time.Millisecond), probeInput{estimate: 1_950_000, target: 1_000_000, ceiling: 8_000_000}); r != 3_900_000 {
		t.Fatalf("next probe at %d, want 3.9 Mbit/s at once", r)
	}
	if p.sent != 4 || p.succeeded != 1 {
		t.Fatalf("counted %d probes, %d up", p.sent, p.succeeded)
	}
}

func TestProberResults(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for _, c := range []struct {
		what    string
		r       probeResult
		ok      bool
		restart int
		onward  bool
	}{
		{"no measurement", probeResult{}, false, 0, false},
		{"carried in full", probeResult{Rate: 2_000_000, recvRate: 2_000_000}, true, 2_000_000, true},
		{"carried in part", probeResult{Rate: 1_500_000, recvRate: 1_500_000}, true, 1_500_000, false},
		{"no better than the estimate", probeResult{Rate: 1_080_000, recvRate: 1_080_000}, true, 0, false},
		// Saturated: 85 % of what arrived, if that is worth it.
		{"saturated well above", probeResult{Rate: 1_800_000, recvRate: 1_900_000, Saturated: true}, true, 1_615_000, false},
		{"saturated near", probeResult{Rate: 1_140_000, recvRate: 1_200_000, Saturated: true}, true, 0, false},
	} {
		p := prober{o: proberOptions{}.withDefaults()}
		if got := p.done(t0, 2_000_000, 1_000_000, c.r, c.ok); got != c.restart || p.onward != c.onward {
			t.Errorf("%s: restart %d onward %v, want %d %v", c.what, got, p.onward, c.restart, c.onward)
		}
	}
}
