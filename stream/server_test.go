package stream

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/camd-project/camd/stream/streamtest"
	"github.com/camd-project/camd/stream/whepclient"
)

// feed writes fake access units into the hub at 100 fps until ctx ends,
// an IDR every 2 s and whenever kf was asked for one.
func feed(ctx context.Context, h *Hub, kf *streamtest.Encoder) {
	streamtest.Feed(ctx, h, kf, 10*time.Millisecond, 200, 2500)
}

type testServer struct {
	*Server
	hub *Hub
	url string
	kf  *streamtest.Encoder
}

func newTestServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	kf := &streamtest.Encoder{}
	hub := NewHub(HubOptions{Keyframes: kf})
	opts.IncludeLoopback = true
	srv, err := NewServer(hub, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- srv.Serve(ctx, ln) }()
	go func() { feed(ctx, hub, kf); done <- nil }()
	t.Cleanup(func() {
		cancel()
		for i := 0; i < 2; i++ {
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
		hub.Close()
	})
	return &testServer{Server: srv, hub: hub, url: "http://" + ln.Addr().String(), kf: kf}
}

func do(t *testing.T, method, url, ctype string, body []byte, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func bodyOf(r *http.Response) string { b, _ := io.ReadAll(r.Body); return string(b) }

func TestWHEPBadInput(t *testing.T) {
	ts := newTestServer(t, Options{MaxViewers: 4})
	valid := streamtest.Offer(t)
	noH264 := strings.NewReplacer("H264", "VP8").Replace(valid)
	audioOnly := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
	cases := []struct {
		name, method, path, ctype string
		body                      []byte
		code                      int
		reason                    string
	}{
		{"wrong content type", "POST", "/whep", "text/plain", []byte(valid), 415, "Content-Type must be application/sdp"},
		{"no content type", "POST", "/whep", "", []byte(valid), 415, "Content-Type"},
		{"too big", "POST", "/whep", "application/sdp", bytes.Repeat([]byte("a"), 65<<10), 413, "larger than"},
		{"empty", "POST", "/whep", "application/sdp", nil, 400, "empty SDP"},
		{"garbage", "POST", "/whep", "application/sdp", []byte("hello\x00world"), 400, "malformed SDP"},
		{"truncated", "POST", "/whep", "application/sdp", []byte(valid[:len(valid)/3]), 400, ""},
		{"audio only", "POST", "/whep", "application/sdp", []byte(audioOnly), 400, "no video"},
		{"no h264", "POST", "/whep", "application/sdp", []byte(noH264), 400, "no H.264"},
		{"unknown session patch", "PATCH", "/whep/nope", "application/trickle-ice-sdpfrag", []byte("a=end-of-candidates\r\n"), 404, "no such"},
		{"unknown session delete", "DELETE", "/whep/nope", "", nil, 404, "no such"},
		{"get whep", "GET", "/whep", "", nil, 405, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, c.method, ts.url+c.path, c.ctype, c.body)
			b := bodyOf(r)
			if r.StatusCode != c.code {
				t.Fatalf("%s %s: %d %q, want %d", c.method, c.path, r.StatusCode, b, c.code)
			}
			if !strings.Contains(b, c.reason) {
				t.Fatalf("body %q lacks %q", b, c.reason)
			}
			if c.code != 405 && strings.Count(strings.TrimSpace(b), "\n") != 0 {
				t.Fatalf("reason is not one line: %q", b)
			}
		})
	}
	if n := ts.sessionCount(); n != 0 {
		t.Fatalf("bad requests left %d sessions", n)
	}
}

func TestWHEPOptionsAndCORS(t *testing.T) {
	ts := newTestServer(t, Options{ICEServers: []webrtc.ICEServer{{URLs: []string{"stun:stun.example.org:3478"}}}})
	r := do(t, "OPTIONS", ts.url+"/whep", "", nil, "Origin", "http://player.example", "Access-Control-Request-Method", "POST")
	if r.StatusCode != 204 {
		t.Fatalf("OPTIONS: %d", r.StatusCode)
	}
	h := r.Header
	if h.Get("Accept-Post") != "application/sdp" || h.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(h.Get("Access-Control-Expose-Headers"), "Location") {
		t.Fatalf("OPTIONS headers: %v", h)
	}
	if l := h.Get("Link"); l != `<stun:stun.example.org:3478>; rel="ice-server"` {
		t.Fatalf("Link = %q", l)
	}
}

func TestWHEPSessionLifecycle(t *testing.T) {
	ts := newTestServer(t, Options{MaxViewers: 1})
	r := do(t, "POST", ts.url+"/whep", "application/sdp", []byte(streamtest.Offer(t)))
	answer := bodyOf(r)
	if r.StatusCode != 201 {
		t.Fatalf("POST: %d %s", r.StatusCode, answer)
	}
	loc, etag := r.Header.Get("Location"), r.Header.Get("ETag")
	if !strings.HasPrefix(loc, "/whep/") || etag == "" || r.Header.Get("Content-Type") != "application/sdp" ||
		r.Header.Get("Accept-Patch") != "application/trickle-ice-sdpfrag" {
		t.Fatalf("201 headers: %v", r.Header)
	}
	if !strings.Contains(answer, "a=sendonly") || !strings.Contains(answer, "H264/90000") || !strings.Contains(answer, "a=candidate:") {
		t.Fatalf("answer lacks sendonly/H264/candidates:\n%s", answer)
	}

	// The cap: a second viewer is refused with Retry-After.
	r2 := do(t, "POST", ts.url+"/whep", "application/sdp", []byte(streamtest.Offer(t)))
	if r2.StatusCode != 503 || r2.Header.Get("Retry-After") == "" {
		t.Fatalf("over the cap: %d Retry-After=%q", r2.StatusCode, r2.Header.Get("Retry-After"))
	}

	if r := do(t, "PATCH", ts.url+loc, "application/trickle-ice-sdpfrag", []byte("a=ice-ufrag:zzzz\r\na=mid:0\r\n")); r.StatusCode != 400 {
		t.Fatalf("PATCH with a new ufrag but no password: %d, want 400", r.StatusCode)
	}
	if r := do(t, "PATCH", ts.url+loc, "application/trickle-ice-sdpfrag", []byte("a=mid:0\r\n"), "If-Match", `"other"`); r.StatusCode != 412 {
		t.Fatalf("PATCH with a stale ETag: %d, want 412", r.StatusCode)
	}
	if r := do(t, "PATCH", ts.url+loc, "application/sdp", []byte("x")); r.StatusCode != 415 {
		t.Fatalf("PATCH with wrong type: %d, want 415", r.StatusCode)
	}
	if r := do(t, "PATCH", ts.url+loc, "application/trickle-ice-sdpfrag", []byte("a=mid:0\r\na=candidate:garbage\r\n")); r.StatusCode != 400 {
		t.Fatalf("PATCH with a garbage candidate: %d, want 400", r.StatusCode)
	}
	if r := do(t, "PATCH", ts.url+loc, "application/trickle-ice-sdpfrag", []byte("a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\na=end-of-candidates\r\n"), "If-Match", etag); r.StatusCode != 204 {
		t.Fatalf("PATCH trickle: %d %s", r.StatusCode, bodyOf(r))
	}
	if r := do(t, "DELETE", ts.url+loc, "", nil); r.StatusCode != 200 {
		t.Fatalf("DELETE: %d", r.StatusCode)
	}
	if r := do(t, "DELETE", ts.url+loc, "", nil); r.StatusCode != 404 {
		t.Fatalf("second DELETE: %d, want 404", r.StatusCode)
	}
	if n := ts.sessionCount(); n != 0 {
		t.Fatalf("%d sessions after DELETE", n)
	}
}

// nalTypes lists the NAL unit types in an Annex-B access unit.
func nalTypes(b []byte) []byte {
	var out []byte
	for i := 0; i+3 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			out = append(out, b[i+3]&0x1f)
			i += 3
		}
	}
	return out
}

func TestWHEPViewersReceiveAndVanish(t *testing.T) {
	ts := newTestServer(t, Options{FailedTimeout: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var clients []*whepclient.Client
	for i := 0; i < 2; i++ {
		c, err := whepclient.Dial(ctx, ts.url+"/whep", whepclient.Options{IncludeLoopback: true})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	for i, c := range clients {
		select {
		case u := <-c.Units():
			if types := nalTypes(u.Data); len(types) < 3 || types[0] != 7 || types[1] != 8 || types[2] != 5 {
				t.Fatalf("viewer %d: first access unit has NAL types %v, want SPS, PPS, IDR", i, types)
			}
		case <-ctx.Done():
			t.Fatalf("viewer %d got no video", i)
		}
		// Then a steady flow.
		for n := 0; n < 20; n++ {
			select {
			case <-c.Units():
			case <-ctx.Done():
				t.Fatalf("viewer %d stalled after %d units", i, n)
			}
		}
		if st := c.Stats(); st.Lost != 0 {
			t.Fatalf("viewer %d lost %d packets on loopback", i, st.Lost)
		}
	}
	st := ts.Status()
	// Each viewer asked for a keyframe or started on the cached one.
	if st.Viewers != 2 || st.Stream.KeyframeReqs[ReasonNewViewer]+st.Stream.JoinedCached != 2 {
		t.Fatalf("status: %d viewers, %v keyframe requests, %d joined on the cached keyframe", st.Viewers, st.Stream.KeyframeReqs, st.Stream.JoinedCached)
	}

	// A PLI from a viewer forces a keyframe.
	before := ts.Status().Stream.KeyframeReqs[ReasonPLI]
	if err := clients[0].RequestKeyframe(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.Status().Stream.KeyframeReqs[ReasonPLI] == before {
		if time.Now().After(deadline) {
			t.Fatal("PLI did not reach the keyframe coalescer")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Viewer 0 vanishes without DELETE: it is reaped when ICE fails, and
	// viewer 1 keeps receiving throughout.
	if err := clients[0].CloseWithoutDelete(); err != nil {
		t.Fatal(err)
	}
	reaped := false
	deadline = time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-clients[1].Units():
		case <-time.After(time.Second):
			t.Fatal("viewer 1 stalled while viewer 0 was being reaped")
		}
		if ts.sessionCount() == 1 {
			reaped = true
			break
		}
	}
	if !reaped {
		t.Fatal("vanished viewer not reaped")
	}
	if err := clients[1].Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStatusTimeHealth(t *testing.T) {
	ts := newTestServer(t, Options{Peers: func() any {
		return []map[string]any{{"instance": "camd on porch", "host": "camd-2.local", "port": 8080}}
	}})
	time.Sleep(50 * time.Millisecond) // a few units flow
	h := httptest.NewRecorder()
	ts.Handler().ServeHTTP(h, httptest.NewRequest("GET", "/healthz", nil))
	if h.Code != 200 {
		t.Fatalf("healthz: %d %s", h.Code, h.Body)
	}
	h = httptest.NewRecorder()
	ts.Handler().ServeHTTP(h, httptest.NewRequest("GET", "/api/time", nil))
	if h.Code != 200 || !strings.Contains(h.Body.String(), `"now_ms"`) {
		t.Fatalf("api/time: %d %s", h.Code, h.Body)
	}
	h = httptest.NewRecorder()
	ts.Handler().ServeHTTP(h, httptest.NewRequest("GET", "/", nil))
	if h.Code != 200 || !strings.Contains(h.Body.String(), "<video") {
		t.Fatalf("page: %d", h.Code)
	}
	h = httptest.NewRecorder()
	ts.Handler().ServeHTTP(h, httptest.NewRequest("GET", "/api/peers", nil))
	if h.Code != 200 || !strings.Contains(h.Body.String(), `"camd on porch"`) {
		t.Fatalf("api/peers: %d %s", h.Code, h.Body)
	}
}

func TestWHEPICERestart(t *testing.T) {
	ts := newTestServer(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := whepclient.Dial(ctx, ts.url+"/whep", whepclient.Options{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	recv := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			select {
			case <-c.Units():
			case <-ctx.Done():
				t.Fatalf("stalled after %d units", i)
			}
		}
	}
	recv(10)
	sess := ts.session(strings.TrimPrefix(c.Resource()[strings.Index(c.Resource(), "/whep/"):], "/whep/"))
	if sess == nil {
		t.Fatal("no session on the server")
	}
	etag := sess.currentETag()
	for i := 0; i < 2; i++ {
		if err := c.RestartICE(ctx); err != nil {
			t.Fatalf("restart %d: %v", i+1, err)
		}
		recv(20) // video flows on over the new ICE session
	}
	if sess.currentETag() == etag || ts.sessionCount() != 1 {
		t.Fatalf("after two restarts: ETag %s (was %s), %d sessions; want a new ETag and the same session", sess.currentETag(), etag, ts.sessionCount())
	}
	// Packets in flight while the pair switches may be lost (NACK and the
	// next keyframe repair that); the stream must not fall apart.
	if st := c.Stats(); st.Lost > 60 {
		t.Fatalf("lost %d packets across two ICE restarts on loopback", st.Lost)
	}
}

// TestHealthzWithoutVideo: /healthz says 503 with a reason when no access
// unit came, and 200 once one does.
func TestHealthzWithoutVideo(t *testing.T) {
	hub := NewHub(HubOptions{})
	defer hub.Close()
	srv, err := NewServer(hub, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := httptest.NewRecorder()
	srv.Handler().ServeHTTP(h, httptest.NewRequest("GET", "/healthz", nil))
	if h.Code != 503 || !strings.Contains(h.Body.String(), "no video") {
		t.Fatalf("healthz with no video: %d %q", h.Code, h.Body)
	}
	hub.Write(au(true, 100), true, time.Now(), 0)
	h = httptest.NewRecorder()
	srv.Handler().ServeHTTP(h, httptest.NewRequest("GET", "/healthz", nil))
	if h.Code != 200 {
		t.Fatalf("healthz after a unit: %d %q", h.Code, h.Body)
	}
}
