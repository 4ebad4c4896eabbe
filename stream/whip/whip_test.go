package whip

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/camd-project/camd/stream"
	"github.com/camd-project/camd/stream/streamtest"
	"github.com/camd-project/camd/stream/whip/whiptest"
)

// rig is camd's stream side: a hub fed at 50 fps and a server whose
// policy steers the fake encoder.
type rig struct {
	srv *stream.Server
	hub *stream.Hub
	enc *streamtest.Encoder
}

func newRig(t *testing.T) *rig {
	t.Helper()
	enc := &streamtest.Encoder{}
	hub := stream.NewHub(stream.HubOptions{Keyframes: enc})
	srv, err := stream.NewServer(hub, stream.Options{IncludeLoopback: true, Bitrate: enc})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); streamtest.Feed(ctx, hub, enc, 20*time.Millisecond, 100, 3000) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
		hub.Close()
	})
	return &rig{srv: srv, hub: hub, enc: enc}
}

// fakeSleep stands in for the wait between attempts: each call is sent
// to the test, which lets it go on.
type fakeSleep struct {
	calls chan time.Duration
	go_   chan struct{}
}

func newFakeSleep() *fakeSleep {
	return &fakeSleep{calls: make(chan time.Duration), go_: make(chan struct{})}
}

func (f *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	select {
	case f.calls <- d:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-f.go_:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// next waits for the publisher to start waiting and returns how long.
func (f *fakeSleep) next(t *testing.T, within time.Duration) time.Duration {
	t.Helper()
	select {
	case d := <-f.calls:
		return d
	case <-time.After(within):
		t.Fatalf("publisher did not back off within %s", within)
		return 0
	}
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pushSession(st stream.Status) (stream.ViewerStatus, bool) {
	for _, v := range st.Sessions {
		if v.Kind == stream.KindWHIP {
			return v, true
		}
	}
	return stream.ViewerStatus{}, false
}

// TestPushToIngest publishes to a pion ingest that refuses twice (503,
// 500), then takes the stream: it must arrive starting with SPS, PPS and
// an IDR; the ingest's REMB must lower the encoder target (the push is a
// viewer in the policy); its PLI must bring a keyframe; and when the
// ingest drops the session the publisher must notice and come back.
func TestPushToIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("WebRTC on loopback")
	}
	r := newRig(t)
	g := whiptest.New("s3cret", 400_000, nil)
	g.Fail(503, 500)
	hs := httptest.NewServer(g)
	defer hs.Close()
	fs := newFakeSleep()
	p, err := New(r.srv, Options{URL: hs.URL + "/whip", Token: "s3cret", DisconnectedMax: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p.o.sleep, p.o.rand = fs.sleep, func() float64 { return 0.5 }
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()

	// Two refusals: 1 s then 2 s, each less a quarter (rand 0.5 takes
	// half of the allowed half off).
	for i, want := range []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond} {
		if d := fs.next(t, 10*time.Second); d != want {
			t.Errorf("backoff %d = %s, want %s", i+1, d, want)
		}
		st := p.Status()
		if st.State != "retrying" || !strings.Contains(st.LastError, "failed") || st.Connected {
			t.Errorf("status while retrying: %+v", st)
		}
		fs.go_ <- struct{}{}
	}
	waitFor(t, 15*time.Second, "the push to connect", func() bool { return p.Status().Connected })
	st := p.Status()
	if st.State != "connected" || st.Attempts != 3 || st.Connects != 1 || !strings.HasPrefix(st.Resource, hs.URL+"/whip/") {
		t.Errorf("status when connected: %+v", st)
	}
	waitFor(t, 10*time.Second, "30 access units at the ingest", func() bool { return g.Stats().Units >= 30 })
	if gs := g.Stats(); !gs.FirstIDR || !gs.SPSFirst || len(gs.Errors) > 0 {
		t.Errorf("first access unit: IDR %v, SPS+PPS %v (want both); errors %q", gs.FirstIDR, gs.SPSFirst, gs.Errors)
	}

	// The ingest's REMB of 400 kbit/s is the lowest estimate: the target.
	waitFor(t, 10*time.Second, "the encoder target to follow the ingest's REMB", func() bool { return r.enc.Rate() == 400_000 })
	v, ok := pushSession(r.srv.Status())
	if !ok || v.EstimateSource != stream.SourceREMB || v.EstimateBps != 400_000 || r.srv.Status().Bitrate.LimitedBy != v.ID {
		t.Errorf("push session in status: %+v (found %v), limited by %q", v, ok, r.srv.Status().Bitrate.LimitedBy)
	}

	// PLI from the ingest → a forced keyframe it receives.
	g.SendPLI()
	waitFor(t, 5*time.Second, "an IDR after the PLI", func() bool { return g.Stats().IDRsAfterPLI >= 1 })
	if n := r.hub.Stats().Keyframe.Requests[stream.ReasonPLI]; n < 1 {
		t.Errorf("hub counted %d PLI requests, want ≥ 1", n)
	}

	// The ingest forgets the session (a restart): ICE goes disconnected,
	// the publisher starts over after BackoffMin (reset by the success).
	unitsBefore := g.Stats().Units
	g.Drop()
	if d := fs.next(t, 30*time.Second); d != 750*time.Millisecond {
		t.Errorf("backoff after a lost session = %s, want 750ms", d)
	}
	if st := p.Status(); !strings.Contains(st.LastError, "connection lost") {
		t.Errorf("status after the drop: %+v", st)
	}
	fs.go_ <- struct{}{}
	waitFor(t, 15*time.Second, "the push to reconnect", func() bool { return p.Status().Connects == 2 && p.Status().Connected })
	waitFor(t, 10*time.Second, "media after the reconnect", func() bool { return g.Stats().Units >= unitsBefore+20 })

	// Shutdown: the resource is deleted and Run returns nil.
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if gs := g.Stats(); gs.Posts != 4 || gs.Deletes < 2 || gs.Live != 0 {
		t.Errorf("ingest saw %d POSTs, %d DELETEs, %d live sessions; want 4, ≥ 2, 0", gs.Posts, gs.Deletes, gs.Live)
	}
	if st := p.Status(); st.State != "stopped" || st.Connected {
		t.Errorf("status after shutdown: %+v", st)
	}
	waitFor(t, 5*time.Second, "the push session to leave the status", func() bool {
		_, ok := pushSession(r.srv.Status())
		return !ok
	})
}

// TestPushRefused: a wrong token and a missing endpoint give errors that
// say what to fix, and the publisher keeps retrying until stopped.
func TestPushRefused(t *testing.T) {
	r := newRig(t)
	g := whiptest.New("s3cret", 0, nil)
	hs := httptest.NewServer(g)
	defer hs.Close()
	release := make(chan struct{}) // an endpoint that never answers
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hang.Close()
	defer close(release)
	for _, c := range []struct{ url, token, want string }{
		{hang.URL + "/whip", "s3cret", "Client.Timeout exceeded"},
		{hs.URL + "/whip", "wrong", "refused the token (check whip.token or CAMD_WHIP_TOKEN): 401"},
		{hs.URL + "/whip", "", "401 Unauthorized"},
		{hs.URL + "/whip/nothing-here", "s3cret", "405"},
		{"http://127.0.0.1:1/whip", "s3cret", "connection refused"},
	} {
		fs := newFakeSleep()
		p, err := New(r.srv, Options{URL: c.url, Token: c.token, HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		p.o.sleep = fs.sleep
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- p.Run(ctx) }()
		fs.next(t, 10*time.Second)
		if st := p.Status(); !strings.Contains(st.LastError, c.want) || st.State != "retrying" || st.NextAttempt.IsZero() {
			t.Errorf("%s with token %q: status %+v, want an error with %q", c.url, c.token, st, c.want)
		}
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run = %v", err)
		}
		if st := p.Status(); st.State != "stopped" {
			t.Errorf("state after cancel = %q", st.State)
		}
	}
	if _, ok := pushSession(r.srv.Status()); ok {
		t.Error("a refused push left a session behind")
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x/whip", "http://", "whip.example.com/ingest"} {
		if _, err := New(nil, Options{URL: u}); err == nil || !strings.Contains(err.Error(), "want http:// or https://") {
			t.Errorf("New(%q) = %v", u, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	p, err := New(nil, Options{URL: "http://x/whip", BackoffMin: time.Second, BackoffMax: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p.o.rand = func() float64 { return 0 }
	var got []time.Duration
	for range 6 {
		got = append(got, p.backoff())
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("backoffs = %v, want %v s", got, want)
		}
	}
	p.o.rand = func() float64 { return 1 } // the most jitter takes half off
	if d := p.backoff(); d != 5*time.Second {
		t.Errorf("with full jitter: %s, want 5s", d)
	}
	p.retryHint = 20 * time.Second // Retry-After wins when longer
	if d := p.backoff(); d != 20*time.Second {
		t.Errorf("with Retry-After 20: %s", d)
	}
}

func TestParseLinks(t *testing.T) {
	got := parseLinks([]string{
		`<stun:stun.example.net>; rel="ice-server"`,
		`<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="p,w"; credential-type="password", <https://example.net/x>; rel="alternate"`,
	})
	if len(got) != 2 || got[0].URLs[0] != "stun:stun.example.net" ||
		got[1].URLs[0] != "turn:turn.example.net?transport=udp" || got[1].Username != "user" || got[1].Credential != "p,w" {
		t.Errorf("parseLinks = %+v", got)
	}
}
