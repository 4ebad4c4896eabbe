package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream/whepclient"
)

// TestTwoBrowsersAndAGoClient: one encode feeds two real browsers and an
// independent pion WHEP client; the Go client checks what a strict decoder
// needs (constrained baseline, a first frame that is an IDR with SPS/PPS).
func TestTwoBrowsersAndAGoClient(t *testing.T) {
	needBrowser(t)
	c := startCamd(t, "-source", "pattern", "-size", "640x480", "-fps", "30")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	b1, b2 := launch(t), launch(t)
	p1 := openPage(t, ctx, b1, c.PageURL())
	p2 := openPage(t, ctx, b2, c.PageURL())

	wc, err := whepclient.Dial(ctx, c.URL+"/whep", whepclient.Options{IncludeLoopback: true, Token: c.Token})
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	var first whepclient.AccessUnit
	select {
	case first = <-wc.Units():
	case <-ctx.Done():
		t.Fatal("Go client got no video")
	}
	nals := h264.SplitNALs(first.Data)
	var types []h264.NALType
	for _, n := range nals {
		types = append(types, h264.TypeOf(n))
	}
	if !h264.IsKeyframe(first.Data) || len(types) < 3 || types[0] != h264.TypeSPS || types[1] != h264.TypePPS {
		t.Fatalf("first access unit: NAL types %v, want SPS, PPS, IDR", types)
	}
	sps, err := h264.ParseSPS(nals[0])
	if err != nil {
		t.Fatal(err)
	}
	if !sps.IsConstrainedBaseline() || sps.Width != 640 || sps.Height != 480 {
		t.Fatalf("SPS: profile-level-id %s, %dx%d; want constrained baseline 640x480", sps.ProfileLevelID(), sps.Width, sps.Height)
	}
	t.Logf("Go client: first frame %s after Dial, profile-level-id %s", wc.Stats().FirstUnit, sps.ProfileLevelID())

	// All three keep receiving at once.
	s1, s2 := inbound(t, ctx, p1), inbound(t, ctx, p2)
	got := 0
	deadline := time.After(3 * time.Second)
loop:
	for {
		select {
		case <-wc.Units():
			got++
		case <-deadline:
			break loop
		}
	}
	e1, e2 := inbound(t, ctx, p1), inbound(t, ctx, p2)
	if d1, d2 := e1.Frames-s1.Frames, e2.Frames-s2.Frames; d1 < 60 || d2 < 60 || got < 60 {
		t.Fatalf("in 3 s: browser 1 decoded %.0f, browser 2 %.0f, Go client got %d frames; want about 90 each", d1, d2, got)
	}

	// One encode for everyone: camd reports three viewers on one stream.
	resp, err := c.Get(ctx, "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Viewers int `json:"viewers"`
		Encoder struct {
			Name string `json:"name"`
		} `json:"encoder"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Viewers != 3 {
		t.Fatalf("status says %d viewers, want 3", st.Viewers)
	}
	t.Logf("encoder %s serving %d viewers", st.Encoder.Name, st.Viewers)

	// Bad input while people watch: each gets its error, nobody notices.
	before, beforeAt := inbound(t, ctx, p1), time.Now()
	for _, bad := range []struct {
		method, path, ctype, body string
		code                      int
	}{
		{"POST", "/whep", "application/sdp", "v=0\r\no=garbage", 400},
		{"POST", "/whep", "application/sdp", strings.Repeat("a=x\r\n", 20000), 413},
		{"POST", "/whep", "application/json", "{}", 415},
		{"PATCH", "/whep/0123456789", "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", 404},
		{"DELETE", "/whep/0123456789", "", "", 404},
	} {
		resp, err := c.Request(ctx, bad.method, bad.path, bad.ctype, []byte(bad.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != bad.code {
			t.Fatalf("%s %s (%s): %d, want %d", bad.method, bad.path, bad.ctype, resp.StatusCode, bad.code)
		}
	}

	// Browser 2 vanishes without a goodbye (SIGKILL: no DELETE, no DTLS
	// close): camd reaps it when ICE gives up, within 30 s, while browser 1
	// plays on undisturbed.
	b2.Kill()
	killed := time.Now()
	for viewers(t, c) != 2 {
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("vanished browser not reaped after 30 s (viewers %d)", viewers(t, c))
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("vanished viewer reaped after %s", time.Since(killed).Round(100*time.Millisecond))
	after, reconnects := inbound(t, ctx, p1), readStats(t, ctx, p1).Reconnects
	elapsed := time.Since(beforeAt).Seconds()
	// Chromium counts a freeze for any frame that comes late, which a
	// loaded machine's scheduler alone can cause; a camd stall would also
	// show as lost packets or a long frozen time, so those are the limits.
	frames := after.Frames - before.Frames
	frozen := after.Freezes - before.Freezes
	lost := after.Lost - before.Lost
	t.Logf("browser 1 during bad input and the reaping: %.0f frames in %.1f s, %.0f lost, %d reconnects, freezes %.0f -> %.0f (%.2f s)",
		frames, elapsed, lost, reconnects, before.FreezeN, after.FreezeN, frozen)
	if frames < 20*elapsed || reconnects != 0 || lost != 0 || frozen > 1 {
		t.Fatalf("browser 1 was disturbed: %.0f frames in %.1f s (want >= 20/s), %.0f lost, %d reconnects, %.2f s frozen (want <= 1 s)",
			frames, elapsed, lost, reconnects, frozen)
	}
}

func viewers(t *testing.T, c *harness.Camd) int {
	t.Helper()
	resp, err := c.Get(context.Background(), "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Viewers int `json:"viewers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Viewers
}
