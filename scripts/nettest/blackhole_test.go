package nettest

import (
	"context"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
)

// TestBlackholedViewer: three Go viewers watch camd, each behind its own
// link. The third one's network goes dark (its side of the link goes down,
// so camd's packets vanish without an error, as when a phone leaves the
// Wi-Fi). The other two keep receiving every picture at the same rate,
// with no loss, while camd keeps sending into the void; camd reaps the
// dark session when ICE gives up, and the two remaining viewers are
// undisturbed by that too.
func TestBlackholedViewer(t *testing.T) {
	harness.NeedRoot(t)
	needTools(t)
	camdBin, viewBin := build(t)
	top := newTopology(t, "go1", "go2", "dark")
	startCamd(t, top, camdBin, "-size", "640x360")
	var vs []*goViewer
	for _, l := range top.links {
		vs = append(vs, startGoViewer(t, l, viewBin))
	}
	hc := top.httpClient()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(d); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v", what, d)
			}
		}
	}
	waitFor("all three viewers playing", 30*time.Second, func() bool {
		for _, v := range vs {
			if v.sample().Units < 30 {
				return false
			}
		}
		return true
	})

	// rate measures the healthy viewers over d: pictures per second,
	// kbit/s, and packets lost.
	type rate struct {
		fps, kbps float64
		lost      uint64
	}
	measure := func(d time.Duration) [2]rate {
		var a, b [2]goSample
		for i := range 2 {
			a[i] = vs[i].sample()
		}
		time.Sleep(d)
		var out [2]rate
		for i := range 2 {
			b[i] = vs[i].sample()
			sec := float64(b[i].UnixMs-a[i].UnixMs) / 1000
			out[i] = rate{float64(b[i].Units-a[i].Units) / sec, float64(b[i].Bytes-a[i].Bytes) * 8 / 1000 / sec, b[i].Lost - a[i].Lost}
		}
		return out
	}
	before := measure(5 * time.Second)

	harness.Run(t, "ip", "-n", top.links[2].ns, "link", "set", top.links[2].dev, "down")
	dark := time.Now()
	during := measure(10 * time.Second)

	// camd reaps the dark session when ICE fails (5 s disconnected, then
	// 15 s more).
	waitFor("the dark session reaped", 40*time.Second, func() bool {
		st, err := top.status(ctx, hc)
		return err == nil && st.Viewers == 2
	})
	reaped := time.Since(dark)
	after := measure(5 * time.Second)

	for i, r := range [][2]rate{before, during, after} {
		phase := []string{"before", "while dark", "after the reaping"}[i]
		t.Logf("%-18s go1 %.1f fps %.0f kbit/s lost %d | go2 %.1f fps %.0f kbit/s lost %d", phase,
			r[0].fps, r[0].kbps, r[0].lost, r[1].fps, r[1].kbps, r[1].lost)
	}
	t.Logf("the dark viewer's session was reaped %v after its link went down", reaped.Round(100*time.Millisecond))
	for i := range 2 {
		for _, r := range [][2]rate{during, after} {
			if r[i].lost != 0 {
				t.Errorf("go%d lost %d packets", i+1, r[i].lost)
			}
			if r[i].fps < 0.9*before[i].fps {
				t.Errorf("go%d at %.1f fps, %.1f before the other viewer went dark", i+1, r[i].fps, before[i].fps)
			}
		}
	}
	if reaped > 35*time.Second {
		t.Errorf("reaped after %v, want about 20 s", reaped)
	}
	st, err := top.status(ctx, hc)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Sessions {
		if !remoteIs(s.Remote, top.links[0]) && !remoteIs(s.Remote, top.links[1]) {
			t.Errorf("session %s from %s survived", s.ID, s.Remote)
		}
	}
}
