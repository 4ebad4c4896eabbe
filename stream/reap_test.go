package stream

import (
	"testing"
	"time"

	"github.com/camd-project/camd/stream/streamtest"
)

// TestNeverConnectedSessionIsReaped: an offer is answered but the viewer
// never connects (it posts and vanishes). The session holds the only
// viewer slot until ConnectTimeout, then goes, and the next viewer gets in.
func TestNeverConnectedSessionIsReaped(t *testing.T) {
	ts := newTestServer(t, Options{MaxViewers: 1, ConnectTimeout: 500 * time.Millisecond})
	if r := do(t, "POST", ts.url+"/whep", sdpType, []byte(streamtest.Offer(t))); r.StatusCode != 201 {
		t.Fatalf("POST: %d", r.StatusCode)
	}
	if r := do(t, "POST", ts.url+"/whep", sdpType, []byte(streamtest.Offer(t))); r.StatusCode != 503 {
		t.Fatalf("second POST while the slot is held: %d, want 503", r.StatusCode)
	}
	start := time.Now()
	for ts.sessionCount() != 0 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the never-connected session was not reaped")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("reaped %v after the check began (ConnectTimeout 500 ms)", time.Since(start).Round(10*time.Millisecond))
	if r := do(t, "POST", ts.url+"/whep", sdpType, []byte(streamtest.Offer(t))); r.StatusCode != 201 {
		t.Fatalf("POST after the reaping: %d", r.StatusCode)
	}
}
