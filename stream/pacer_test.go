package stream

import (
	"testing"
	"time"
)

func TestPacerKeepsTheRate(t *testing.T) {
	var p pacer
	now := time.Unix(0, 0)
	p.setRate(8_000_000) // 1 MB/s: a 5 ms burst is 5000 bytes
	p.spend(now, 1200)
	// After a long idle, one burst goes at once, then packets wait.
	now = now.Add(time.Second)
	sent := 0
	for p.wait(now) == 0 {
		p.spend(now, 1200)
		sent += 1200
	}
	if sent < 5000 || sent > 5000+1200 {
		t.Fatalf("sent %d bytes in a burst, want about 5000", sent)
	}
	// Sustained: the rate, within a packet.
	start, bytes := now, 0
	for range 2000 {
		if d := p.wait(now); d > 0 {
			now = now.Add(d)
		}
		p.spend(now, 1200)
		bytes += 1200
	}
	if rate := float64(bytes*8) / now.Sub(start).Seconds(); rate < 7_900_000 || rate > 8_100_000 {
		t.Fatalf("paced at %.0f bit/s, want 8 Mbit/s", rate)
	}
	// Off: never waits.
	p.setRate(0)
	for range 100 {
		p.spend(now, 1200)
		if d := p.wait(now); d != 0 {
			t.Fatalf("unpaced wait %v", d)
		}
	}
}

func TestPaceRate(t *testing.T) {
	for _, c := range []struct {
		probe, est, target, want int
	}{
		{0, 0, 0, 0},                                 // nothing known: no pacing
		{0, 1_000_000, 2_000_000, 5_000_000},         // 2.5 × the larger
		{0, 100_000, 0, 750_000},                     // never below 2.5 × 300 kbit/s
		{4_000_000, 2_000_000, 2_000_000, 4_000_000}, // a probe sets the rate
		{200_000, 100_000, 1_500_000, 3_750_000},     // a probe below the video only measures it
	} {
		if got := paceRate(c.probe, c.est, c.target); got != c.want {
			t.Errorf("paceRate(%d, %d, %d) = %d, want %d", c.probe, c.est, c.target, got, c.want)
		}
	}
}
