package control

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	var b bucket
	now := time.Unix(1000, 0)
	n := 0
	for range 500 {
		if b.take(now) {
			n++
		}
	}
	if n != Burst {
		t.Fatalf("%d of 500 at once passed, want the burst of %d", n, Burst)
	}
	now = now.Add(500 * time.Millisecond)
	n = 0
	for range 500 {
		if b.take(now) {
			n++
		}
	}
	if n != MaxRate/2 {
		t.Fatalf("%d passed after 0.5 s, want %d", n, MaxRate/2)
	}
	now = now.Add(time.Hour)
	if !b.take(now) || b.tokens != Burst-1 {
		t.Fatalf("after an hour: %v tokens, want the burst less one", b.tokens)
	}
}

// TestRateAndSizeCapsOverDataChannels floods camd's router over real pion
// DataChannels: one page sends 400 pings at once on its reliable channel.
// The burst is answered, the rest dropped with one rate-limited error; a
// second page is not held up meanwhile; after a second (of the injected
// clock) the flooder is served again. A message over MaxMessage gets
// too-big and changes nothing.
func TestRateAndSizeCapsOverDataChannels(t *testing.T) {
	checkGoroutines(t)
	g := newRig(t, Options{})
	flood, _ := connect(t, g.r, "flooder")
	calm, _ := connect(t, g.r, "calm")
	flood.send(flood.ctl, `{"v":1,"type":"hello","name":"flood"}`)
	flood.await(TypeWelcome)
	calm.send(calm.ctl, `{"v":1,"type":"hello","name":"calm"}`)
	calm.await(TypeWelcome)

	for i := range 400 {
		flood.send(flood.ctl, fmt.Sprintf(`{"v":1,"type":"ping","t":%d}`, i))
	}
	calm.send(calm.ctl, `{"v":1,"type":"ping","t":7}`)
	if m := calm.await(TypePong); m.num("t") != 7 {
		t.Fatalf("calm page: %v", m)
	}
	pongs, limited := 0, 0
	var reason string
	quiet := time.After(2 * time.Second)
loop:
	for {
		select {
		case m := <-flood.in:
			switch {
			case m.str("type") == TypePong:
				pongs++
			case m.str("type") == TypeError && m.str("code") == string(CodeRateLimited):
				limited++
				reason = m.str("msg")
			}
		case <-quiet:
			break loop
		}
	}
	// hello took one token.
	t.Logf("400 pings at once: %d answered, %d rate-limited errors (%q)", pongs, limited, reason)
	if pongs != Burst-1 || limited != 1 || !strings.Contains(reason, "dropped") {
		t.Fatalf("%d pongs and %d rate-limited errors; want %d and 1", pongs, limited, Burst-1)
	}

	g.clk.Advance(time.Second)
	flood.send(flood.ctl, `{"v":1,"type":"ping","t":1000}`)
	if m := flood.awaitWhere(TypePong, func(m msg) bool { return m.num("t") == 1000 }); m == nil {
		t.Fatal("flooder not served after a second")
	}

	big := `{"v":1,"type":"hello","name":"` + strings.Repeat("x", MaxMessage) + `"}`
	flood.send(flood.ctl, big)
	e := flood.awaitWhere(TypeError, func(m msg) bool { return m.str("code") == string(CodeTooBig) })
	t.Logf("%d-byte message: %s %q", len(big), e.str("code"), e.str("msg"))
}
