package stream

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/camd-project/camd/stream/auth"
	"github.com/camd-project/camd/stream/streamtest"
	"github.com/camd-project/camd/stream/whepclient"
)

const testToken = "test-token-0123456789abcdefXYZ"

var bearer = []string{"Authorization", "Bearer " + testToken}

// TestAuthEndpoints: with a token, only the page, /healthz and CORS
// preflights are open; everything else answers 401 without the token (or
// with a wrong one) and works with it.
func TestAuthEndpoints(t *testing.T) {
	ts := newTestServer(t, Options{Auth: auth.New(auth.Options{Token: testToken})})
	open := []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/app.js"}, {"GET", "/healthz"}, {"OPTIONS", "/whep"},
	}
	for _, e := range open {
		// /healthz may say 503 before the first frame; open means not 401.
		if r := do(t, e.method, ts.url+e.path, "", nil); r.StatusCode == 401 || r.StatusCode == 404 {
			t.Errorf("%s %s without a token: %d, want it open", e.method, e.path, r.StatusCode)
		}
	}
	for _, path := range []string{"/api/status", "/api/time", "/api/peers", "/metrics"} {
		r := do(t, "GET", ts.url+path, "", nil)
		if r.StatusCode != 401 || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("GET %s without a token: %d %q, want 401 with WWW-Authenticate", path, r.StatusCode, r.Header.Get("WWW-Authenticate"))
		}
		if !strings.Contains(bodyOf(r), "camd token") {
			t.Errorf("GET %s: the 401 does not say how to get the link", path)
		}
		if r := do(t, "GET", ts.url+path, "", nil, bearer...); r.StatusCode != 200 {
			t.Errorf("GET %s with the token: %d, want 200", path, r.StatusCode)
		}
	}

	offer := []byte(streamtest.Offer(t))
	r := do(t, "POST", ts.url+"/whep", "application/sdp", offer)
	if r.StatusCode != 401 || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("POST /whep without a token: %d (CORS %q), want 401 readable cross-origin", r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"))
	}
	if r := do(t, "POST", ts.url+"/whep", "application/sdp", offer, "Authorization", "Bearer wrong"); r.StatusCode != 401 {
		t.Fatalf("POST /whep with a wrong token: %d, want 401", r.StatusCode)
	}
	r = do(t, "POST", ts.url+"/whep", "application/sdp", offer, bearer...)
	if r.StatusCode != 201 {
		t.Fatalf("POST /whep with the token: %d %s", r.StatusCode, bodyOf(r))
	}
	loc := r.Header.Get("Location")
	frag := []byte("a=mid:0\r\na=end-of-candidates\r\n")
	if r := do(t, "PATCH", ts.url+loc, "application/trickle-ice-sdpfrag", frag); r.StatusCode != 401 {
		t.Errorf("PATCH without the token: %d, want 401", r.StatusCode)
	}
	if r := do(t, "DELETE", ts.url+loc, "", nil); r.StatusCode != 401 {
		t.Errorf("DELETE without the token: %d, want 401", r.StatusCode)
	}
	if r := do(t, "PATCH", ts.url+loc, "application/trickle-ice-sdpfrag", frag, bearer...); r.StatusCode != 204 {
		t.Errorf("PATCH with the token: %d %s, want 204", r.StatusCode, bodyOf(r))
	}
	if r := do(t, "DELETE", ts.url+loc, "", nil, bearer...); r.StatusCode != 200 {
		t.Errorf("DELETE with the token: %d, want 200", r.StatusCode)
	}
}

// TestAuthRateLimitedOverHTTP: wrong tokens from one address end in 429
// with Retry-After, for WHEP as for the API.
func TestAuthRateLimitedOverHTTP(t *testing.T) {
	ts := newTestServer(t, Options{Auth: auth.New(auth.Options{Token: testToken, Burst: 3})})
	for i := range 3 {
		if r := do(t, "GET", ts.url+"/api/status", "", nil, "Authorization", "Bearer guess"); r.StatusCode != 401 {
			t.Fatalf("guess %d: %d, want 401", i+1, r.StatusCode)
		}
	}
	r := do(t, "POST", ts.url+"/whep", "application/sdp", []byte(streamtest.Offer(t)), bearer...)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("after 3 wrong tokens: %d Retry-After %q, want 429", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if r := do(t, "GET", ts.url+"/healthz", "", nil); r.StatusCode == 401 || r.StatusCode == 429 {
		t.Errorf("/healthz while refused: %d; supervisors must not be locked out", r.StatusCode)
	}
}

// fakeController records who got the control channels.
type fakeController struct {
	mu    sync.Mutex
	calls []bool // authenticated, per AttachPeer
}

func (f *fakeController) AttachPeer(pc *webrtc.PeerConnection, _ string, authenticated bool) (func(), error) {
	f.mu.Lock()
	f.calls = append(f.calls, authenticated)
	f.mu.Unlock()
	pc.OnDataChannel(func(*webrtc.DataChannel) {}) // keep them open
	return func() {}, nil
}

func (f *fakeController) attached() []bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bool(nil), f.calls...)
}

// pageLikePeer is a pion peer that does what the page does: a recvonly
// video transceiver and the two control channels, opened in-band.
type pageLikePeer struct {
	pc      *webrtc.PeerConnection
	ctl     *webrtc.DataChannel
	opened  chan struct{}
	closed  chan struct{}
	gotRTP  chan struct{}
	created int
}

func dialPageLike(t *testing.T, url string, hdr ...string) (*pageLikePeer, int) {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	p := &pageLikePeer{pc: pc, opened: make(chan struct{}), closed: make(chan struct{}), gotRTP: make(chan struct{})}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if _, _, err := tr.ReadRTP(); err == nil {
			once.Do(func() { close(p.gotRTP) })
		}
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
		}
	})
	if p.ctl, err = pc.CreateDataChannel("control", nil); err != nil {
		t.Fatal(err)
	}
	p.ctl.OnOpen(func() { close(p.opened) })
	p.ctl.OnClose(func() { close(p.closed) })
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	r := do(t, "POST", url+"/whep", "application/sdp", []byte(pc.LocalDescription().SDP), hdr...)
	if r.StatusCode != 201 {
		return p, r.StatusCode
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: bodyOf(r)}); err != nil {
		t.Fatal(err)
	}
	return p, r.StatusCode
}

func wait(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestOpenViewNoControl: with auth.view = "open" a viewer without the
// token gets video but no control channels (camd closes the ones it
// opens); a viewer with the token gets both.
func TestOpenViewNoControl(t *testing.T) {
	ctl := &fakeController{}
	ts := newTestServer(t, Options{Control: ctl, Auth: auth.New(auth.Options{Token: testToken, OpenView: true})})

	anon, code := dialPageLike(t, ts.url)
	if code != 201 {
		t.Fatalf("open view, no token: POST %d, want 201", code)
	}
	wait(t, anon.gotRTP, "video for the viewer without a token")
	wait(t, anon.closed, "camd to close the tokenless viewer's control channel")
	if got := ctl.attached(); len(got) != 0 {
		t.Fatalf("the tokenless viewer was attached to control: %v", got)
	}

	owner, code := dialPageLike(t, ts.url, bearer...)
	if code != 201 {
		t.Fatalf("open view, with token: POST %d, want 201", code)
	}
	wait(t, owner.gotRTP, "video for the viewer with the token")
	wait(t, owner.opened, "the control channel of the viewer with the token")
	select {
	case <-owner.closed:
		t.Fatal("camd closed the control channel of the viewer with the token")
	case <-time.After(500 * time.Millisecond):
	}
	if got := ctl.attached(); len(got) != 1 || !got[0] {
		t.Fatalf("AttachPeer calls %v, want one, authenticated", got)
	}

	// Without the token the status hides the viewers' addresses.
	var st Status
	if err := json.NewDecoder(do(t, "GET", ts.url+"/api/status", "", nil).Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Viewers != 2 {
		t.Fatalf("status: %d viewers, want 2", st.Viewers)
	}
	for _, v := range st.Sessions {
		if v.Remote != "" {
			t.Errorf("tokenless status shows a viewer's address %q", v.Remote)
		}
	}
	if r := do(t, "GET", ts.url+"/metrics", "", nil); r.StatusCode != 401 {
		t.Errorf("/metrics without the token in open view mode: %d, want 401", r.StatusCode)
	}
}

// TestWHEPClientToken: the Go WHEP client sends the token, and fails
// clearly without it.
func TestWHEPClientToken(t *testing.T) {
	ts := newTestServer(t, Options{Auth: auth.New(auth.Options{Token: testToken})})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := whepclient.Dial(ctx, ts.url+"/whep", whepclient.Options{IncludeLoopback: true}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Dial without the token: %v, want a 401 error", err)
	}
	c, err := whepclient.Dial(ctx, ts.url+"/whep", whepclient.Options{IncludeLoopback: true, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Units():
	case <-ctx.Done():
		t.Fatal("no video with the token")
	}
	if err := c.Close(); err != nil { // DELETE with the token
		t.Fatal(err)
	}
}
