package stream

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestNTPShortAndRTT(t *testing.T) {
	if got := ntpShort(time.Unix(0, 0)); got != 0x7e800000 {
		t.Fatalf("ntpShort(1970) = %#x, want 0x7e800000", got)
	}
	if got := ntpShort(time.Unix(0, 500_000_000)); got != 0x7e808000 {
		t.Fatalf("ntpShort(1970 + 0.5 s) = %#x, want 0x7e808000", got)
	}
	sent := time.Unix(1_700_000_000, 250_000_000)
	// The viewer held the report 0.5 s; it came back 0.6 s after it left.
	rtt := rttFromReport(sent.Add(600*time.Millisecond), ntpShort(sent), 1<<15)
	if d := rtt - 100*time.Millisecond; d < -100*time.Microsecond || d > 100*time.Microsecond {
		t.Fatalf("rtt %v, want 100 ms", rtt)
	}
	if rtt := rttFromReport(sent, ntpShort(sent), 1<<16); rtt != 0 {
		t.Fatalf("a delay longer than the round trip gave %v", rtt)
	}
}

func TestReceptionReports(t *testing.T) {
	r := reception{ssrc: 7}
	now := time.Unix(1_700_000_000, 0)
	r.onReports(now, []rtcp.ReceptionReport{
		{SSRC: 9, FractionLost: 200, TotalLost: 50}, // another stream
		{SSRC: 7, FractionLost: 64, TotalLost: 0xfffffe, LastSenderReport: ntpShort(now.Add(-30 * time.Millisecond))},
	})
	frac, lost, rtt := r.snapshot()
	if frac != 0.25 || lost != -2 || rtt < 29*time.Millisecond || rtt > 31*time.Millisecond {
		t.Fatalf("fraction %v lost %d rtt %v, want 0.25, -2 (duplicates), 30 ms", frac, lost, rtt)
	}
}
