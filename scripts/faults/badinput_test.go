package faults

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream/streamtest"
)

// raw sends bytes on a fresh connection and returns camd's status line.
func raw(t *testing.T, addr string, req []byte) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		return "write: " + err.Error()
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "read: " + err.Error()
	}
	return strings.TrimSpace(line)
}

// TestBadInput sends the real binary every kind of bad request and logs
// what camd answered to each: a 4xx (or 503) with a one-line reason, and
// camd carries on serving video, with no session left behind.
func TestBadInput(t *testing.T) {
	c := harness.StartTest(t, camdBin, append(small, "-set", "webrtc.max_viewers=1")...)
	addr := strings.TrimPrefix(c.URL, "http://")
	before := settle(t, c.URL, 5*time.Second)
	offer := streamtest.Offer(t)

	audioOnly := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
	manyM := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" + strings.Repeat("m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n", 800)
	type badReq struct {
		name, method, path, ctype string
		body                      string
		hdr                       []string
		code                      int
	}
	// Offers first, while no session holds the one viewer slot.
	offers := []badReq{
		{"offer, wrong Content-Type", "POST", "/whep", "text/plain", offer, nil, 415},
		{"offer, no Content-Type", "POST", "/whep", "", offer, nil, 415},
		{"offer over 64 KiB", "POST", "/whep", "application/sdp", strings.Repeat("a", 65<<10), nil, 413},
		{"empty offer", "POST", "/whep", "application/sdp", "", nil, 400},
		{"binary garbage", "POST", "/whep", "application/sdp", "\x00\x01\xff\xfe hello", nil, 400},
		{"truncated offer", "POST", "/whep", "application/sdp", offer[:len(offer)/3], nil, 400},
		{"audio-only offer", "POST", "/whep", "application/sdp", audioOnly, nil, 400},
		{"offer without H.264", "POST", "/whep", "application/sdp", strings.ReplaceAll(offer, "H264", "VP8"), nil, 400},
		{"inactive offer", "POST", "/whep", "application/sdp", strings.ReplaceAll(offer, "a=recvonly", "a=inactive"), nil, 400},
		{"sendonly offer", "POST", "/whep", "application/sdp", strings.ReplaceAll(offer, "a=recvonly", "a=sendonly"), nil, 400},
		{"800 m-lines without ICE", "POST", "/whep", "application/sdp", manyM, nil, 400},
	}
	for _, tc := range offers {
		try(t, c.URL, tc.name, tc.method, tc.path, tc.ctype, tc.body, tc.hdr, tc.code)
	}

	// A session to PATCH, and that fills the one viewer slot.
	post, err := http.NewRequest("POST", c.URL+"/whep", strings.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	post.Header.Set("Content-Type", "application/sdp")
	post.Header.Set("Authorization", bearer)
	resp, err := http.DefaultClient.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST /whep: %d", resp.StatusCode)
	}
	loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")

	rest := []badReq{
		{"valid offer beyond max_viewers", "POST", "/whep", "application/sdp", offer, nil, 503},
		{"PATCH unknown session", "PATCH", "/whep/nope", "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", nil, 404},
		{"PATCH garbage candidate", "PATCH", loc, "application/trickle-ice-sdpfrag", "a=mid:0\r\na=candidate:garbage\r\n", nil, 400},
		{"PATCH new ufrag without pwd", "PATCH", loc, "application/trickle-ice-sdpfrag", "a=ice-ufrag:zzzz\r\na=mid:0\r\n", nil, 400},
		{"PATCH stale If-Match", "PATCH", loc, "application/trickle-ice-sdpfrag", "a=mid:0\r\n", []string{"If-Match", `"old"`}, 412},
		{"PATCH wrong Content-Type", "PATCH", loc, "application/sdp", "x", nil, 415},
		{"PATCH over 16 KiB", "PATCH", loc, "application/trickle-ice-sdpfrag", strings.Repeat("a", 17<<10), []string{"If-Match", etag}, 413},
		{"DELETE unknown session", "DELETE", "/whep/nope", "", "", nil, 404},
		{"GET /whep", "GET", "/whep", "", "", nil, 405},
		{"PUT /whep", "PUT", "/whep", "application/sdp", offer, nil, 405},
		{"path traversal", "GET", "/../../etc/passwd", "", "", nil, 404},
		{"unknown API", "GET", "/api/nope", "", "", nil, 404},
		{"header of 40 KiB", "GET", "/healthz", "", "", []string{"X-Big", strings.Repeat("b", 40<<10)}, 431},
	}
	for _, tc := range rest {
		try(t, c.URL, tc.name, tc.method, tc.path, tc.ctype, tc.body, tc.hdr, tc.code)
	}
	// Below HTTP: broken request lines and bodies that lie about their size.
	for _, r := range []struct{ name, req, want string }{
		{"not HTTP at all", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "HTTP/1.1 400"},
		{"bad request line", "GET\r\n\r\n", "HTTP/1.1 400"},
		{"chunked offer over 64 KiB", "POST /whep HTTP/1.1\r\nHost: x\r\nAuthorization: " + bearer + "\r\nContent-Type: application/sdp\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"11000\r\n" + strings.Repeat("v", 0x11000) + "\r\n0\r\n\r\n", "HTTP/1.1 413"},
		{"Content-Length larger than the body", "POST /whep HTTP/1.1\r\nHost: x\r\nAuthorization: " + bearer + "\r\nContent-Type: application/sdp\r\nContent-Length: 1000000000\r\n\r\nv=0\r\n", "HTTP/1.1 413"},
		{"negative Content-Length", "POST /whep HTTP/1.1\r\nHost: x\r\nAuthorization: " + bearer + "\r\nContent-Length: -5\r\n\r\n", "HTTP/1.1 400"},
	} {
		got := raw(t, addr, []byte(r.req))
		t.Logf("%-32s → %q", r.name, got)
		if !strings.HasPrefix(got, r.want) {
			t.Errorf("%s: %q, want %s", r.name, got, r.want)
		}
	}

	// camd is unharmed: the session is still there, video flows, and
	// after the session goes the goroutines come back.
	if code, _, err := httpGet(c.URL+"/healthz", 5*time.Second); err != nil || code != 200 {
		t.Fatalf("healthz after the bad input: %d %v", code, err)
	}
	// (A session that never connects is reaped on its own; 404 then.)
	req, _ := http.NewRequest("DELETE", c.URL+loc, nil)
	req.Header.Set("Authorization", bearer)
	if resp, err := http.DefaultClient.Do(req); err != nil || (resp.StatusCode != 200 && resp.StatusCode != 404) {
		t.Fatalf("DELETE the session: %v %v", resp, err)
	}
	if after := settle(t, c.URL, 10*time.Second); after > before+5 {
		t.Fatalf("goroutines %d after, %d before", after, before)
	}
}

func clip(s string) string {
	if len(s) > 90 {
		return s[:90] + "…"
	}
	return s
}

// try sends one request and checks camd's answer: the code, Retry-After
// on a 503, and a one-line reason.
func try(t *testing.T, base, name, method, path, ctype, body string, hdr []string, code int) {
	t.Helper()
	url := path
	if !strings.HasPrefix(url, "http") {
		url = base + url
	}
	req, err := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", bearer)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	reason := strings.TrimSpace(string(b))
	t.Logf("%-32s → %d %q", name, resp.StatusCode, clip(reason))
	if resp.StatusCode != code {
		t.Errorf("%s: %d, want %d", name, resp.StatusCode, code)
	}
	if resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s: 503 without Retry-After", name)
	}
	if code != 404 && code != 405 && (reason == "" || strings.Contains(reason, "\n")) {
		t.Errorf("%s: reason %q is not one line", name, reason)
	}
}
