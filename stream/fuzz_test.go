package stream

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5/vnet"

	"github.com/camd-project/camd/stream/streamtest"
)

// fuzzServer is a WHEP server on a virtual network of its own (pion's
// vnet, camd alone at 1.2.3.4): whatever candidates a fuzzed offer or
// fragment names, no packet leaves the process, and mDNS is off.
func fuzzServer(f *testing.F) *Server {
	f.Helper()
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "1.2.3.0/24", LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		f.Fatal(err)
	}
	n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"1.2.3.4"}})
	if err != nil {
		f.Fatal(err)
	}
	if err := wan.AddNet(n); err != nil {
		f.Fatal(err)
	}
	if err := wan.Start(); err != nil {
		f.Fatal(err)
	}
	hub := NewHub(HubOptions{})
	srv, err := NewServer(hub, Options{
		net: n, MaxViewers: 4, GatherTimeout: 200 * time.Millisecond, ConnectTimeout: time.Hour,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close(); hub.Close(); _ = wan.Stop() })
	return srv
}

// serve runs one request through the server's handler.
func serve(s *Server, method, path, ctype string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

// checkReason fails unless an error answer is one plain-text line.
func checkReason(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	b := w.Body.String()
	if strings.TrimSpace(b) == "" || strings.Count(strings.TrimSpace(b), "\n") != 0 ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("%d answer is not a one-line reason: %q", w.Code, b)
	}
}

// FuzzWHEPOffer posts fuzzed offers to POST /whep, the whole path from the
// body to pion's answer. camd answers 201 with a usable answer or 400 with
// a one-line reason; it never panics, never answers 5xx, and a refused
// offer leaves no session behind.
func FuzzWHEPOffer(f *testing.F) {
	srv := fuzzServer(f)
	valid := streamtest.Offer(f)
	for _, s := range []string{
		valid,
		strings.ReplaceAll(valid, "H264", "VP8"),
		strings.ReplaceAll(valid, "a=recvonly", "a=inactive"),
		strings.ReplaceAll(valid, "a=recvonly", "a=sendonly"),
		strings.ReplaceAll(valid, "\r\n", "\n"),
		valid[:len(valid)/2],
		"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n",
		"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n",
		"", "hello\x00world", "v=0\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := serve(srv, "POST", "/whep", sdpType, body)
		switch w.Code {
		case http.StatusCreated:
			loc := w.Header().Get("Location")
			var d sdp.SessionDescription
			if err := d.UnmarshalString(w.Body.String()); err != nil {
				t.Fatalf("201 with an answer that does not parse: %v\n%s", err, w.Body)
			}
			if !strings.Contains(w.Body.String(), "a=sendonly") && !strings.Contains(w.Body.String(), "a=sendrecv") {
				t.Fatalf("201 with an answer that sends no video:\n%s", w.Body)
			}
			if d := serve(srv, "DELETE", loc, "", nil); d.Code != http.StatusOK {
				t.Fatalf("DELETE %s: %d", loc, d.Code)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			checkReason(t, w)
		default:
			t.Fatalf("POST /whep: %d %q", w.Code, w.Body)
		}
		if n := srv.sessionCount(); n != 0 {
			t.Fatalf("%d sessions left after the offer was answered and deleted", n)
		}
	})
}

// FuzzWHEPPatch sends fuzzed trickle-ICE fragments (RFC 8840) to a
// session: 204 (candidates taken), 200 (an ICE restart, with camd's own
// fragment) or 400 with a reason; never a panic or a 5xx.
func FuzzWHEPPatch(f *testing.F) {
	srv := fuzzServer(f)
	offer := []byte(streamtest.Offer(f))
	newSession := func(t testing.TB) string {
		w := serve(srv, "POST", "/whep", sdpType, offer)
		if w.Code != http.StatusCreated {
			t.Fatalf("POST /whep: %d %s", w.Code, w.Body)
		}
		return w.Header().Get("Location")
	}
	loc := newSession(f)
	for _, s := range []string{
		"a=mid:0\r\na=candidate:1 1 udp 2130706431 1.2.3.9 40000 typ host\r\na=end-of-candidates\r\n",
		"a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef01234567\r\na=mid:0\r\na=candidate:1 1 udp 1 1.2.3.9 9 typ host\r\n",
		"a=ice-ufrag:zzzz\r\na=mid:0\r\n",
		"a=mid:0\r\na=candidate:garbage\r\n",
		"a=mid:7\r\na=candidate:1 1 tcp 1 1.2.3.9 9 typ host tcptype passive\r\n",
		"a=candidate:1 1 udp 1 x.local 9 typ host\r\n",
		"a=end-of-candidates\r\n", "", "\x00\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frag []byte) {
		// A fragment that restarted ICE towards addresses that do not
		// answer gets the session reaped when ICE fails, as it should:
		// then the next input goes to a new one.
		if srv.sessionCount() == 0 {
			loc = newSession(t)
		}
		w := serve(srv, "PATCH", loc, sdpFragType, frag)
		switch w.Code {
		case http.StatusNoContent:
		case http.StatusOK:
			if !strings.Contains(w.Body.String(), "a=ice-ufrag:") || w.Header().Get("ETag") == "" {
				t.Fatalf("restart answer without credentials or ETag: %q", w.Body)
			}
		case http.StatusBadRequest:
			checkReason(t, w)
		case http.StatusNotFound: // reaped just now
			if srv.sessionCount() != 0 {
				t.Fatalf("PATCH: 404 with the session there")
			}
		default:
			t.Fatalf("PATCH: %d %q", w.Code, w.Body)
		}
	})
}
