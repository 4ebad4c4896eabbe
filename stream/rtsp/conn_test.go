package rtsp

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
)

func TestRTSPAuthentication(t *testing.T) {
	checkGoroutines(t)
	const token = "s3cret-token"
	f := newFixture(t, Options{Password: func(string) (string, bool) { return token, true }}, 10*time.Millisecond)
	host := f.srv.Addr().String()

	t.Run("no credentials", func(t *testing.T) {
		u, _ := base.ParseURL(f.url)
		c := &gortsplib.Client{}
		if err := c.Start(u.Scheme, u.Host); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _, err := c.Describe(u)
		var bad liberrors.ErrClientBadStatusCode
		if !errors.As(err, &bad) || bad.Code != base.StatusUnauthorized {
			t.Fatalf("DESCRIBE without credentials: %v, want 401", err)
		}
	})
	t.Run("digest", func(t *testing.T) {
		// gortsplib's client answers the Digest challenge.
		r := play(t, "rtsp://anyone:"+token+"@"+host+"/camd", gortsplib.TransportTCP)
		select {
		case <-r.aus:
		case <-time.After(10 * time.Second):
			t.Fatal("no video with the right token")
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		u, _ := base.ParseURL("rtsp://camd:wrong@" + host + "/camd")
		c := &gortsplib.Client{}
		if err := c.Start(u.Scheme, u.Host); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, _, err := c.Describe(u); err == nil {
			t.Fatal("DESCRIBE with a wrong token worked")
		}
	})
	t.Run("basic", func(t *testing.T) {
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("camd:"+token))
		res := rawRequest(t, host, "DESCRIBE rtsp://"+host+"/camd RTSP/1.0\r\nCSeq: 1\r\nAuthorization: "+basic+"\r\n\r\n")
		if res.StatusCode != base.StatusOK || !bytes.Contains(res.Body, []byte("H264/90000")) {
			t.Fatalf("Basic with the token: %v\n%s", res.StatusCode, res.Body)
		}
		bad := "Basic " + base64.StdEncoding.EncodeToString([]byte("camd:nope"))
		res = rawRequest(t, host, "DESCRIBE rtsp://"+host+"/camd RTSP/1.0\r\nCSeq: 1\r\nAuthorization: "+bad+"\r\n\r\n")
		if res.StatusCode != base.StatusUnauthorized {
			t.Fatalf("Basic with a wrong token: %v", res.StatusCode)
		}
	})
}

// rawRequest sends one request on a new connection and reads the answer.
func rawRequest(t *testing.T, host, req string) *base.Response {
	t.Helper()
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	var res base.Response
	if err := res.Unmarshal(bufio.NewReader(c)); err != nil {
		t.Fatal(err)
	}
	return &res
}

func TestRTSPErrors(t *testing.T) {
	checkGoroutines(t)
	f := newFixture(t, Options{MaxReaders: 1}, 10*time.Millisecond)
	host := f.srv.Addr().String()
	cases := []struct {
		req  string
		want base.StatusCode
	}{
		{"DESCRIBE rtsp://" + host + "/other RTSP/1.0\r\nCSeq: 1\r\n\r\n", base.StatusNotFound},
		{"PLAY rtsp://" + host + "/camd RTSP/1.0\r\nCSeq: 1\r\nSession: 1234\r\n\r\n", base.StatusSessionNotFound},
		{"SETUP rtsp://" + host + "/camd/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n", base.StatusUnsupportedTransport},
		{"SETUP rtsp://" + host + "/camd/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;multicast\r\n\r\n", base.StatusUnsupportedTransport},
		{"ANNOUNCE rtsp://" + host + "/camd RTSP/1.0\r\nCSeq: 1\r\n\r\n", base.StatusNotImplemented},
		{"OPTIONS rtsp://" + host + "/camd RTSP/1.0\r\nCSeq: 7\r\n\r\n", base.StatusOK},
	}
	for _, c := range cases {
		if res := rawRequest(t, host, c.req); res.StatusCode != c.want {
			t.Errorf("%q: %d, want %d", strings.SplitN(c.req, "\r\n", 2)[0], res.StatusCode, c.want)
		}
	}
	// Garbage gets a 400 and the connection closes; the server lives on.
	if res := rawRequest(t, host, "\x16\x03\x01 hello there\r\n\r\n"); res.StatusCode != base.StatusBadRequest {
		t.Errorf("garbage: %d", res.StatusCode)
	}
	// Connections are capped too: idle ones up to the cap stay open, the
	// next is closed at once.
	var idle []net.Conn
	for range f.srv.maxConns() {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	over, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	_ = over.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := over.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("a connection over the cap: read %v, want EOF", err)
	}
	over.Close()
	for _, c := range idle {
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.srv.mu.Lock()
		n := len(f.srv.conns)
		f.srv.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The reader limit: one plays, the next SETUP gets 503.
	<-play(t, f.url, gortsplib.TransportTCP).aus
	res := rawRequest(t, host, "SETUP rtsp://"+host+"/camd/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n")
	if res.StatusCode != base.StatusServiceUnavailable {
		t.Errorf("SETUP over the limit: %d", res.StatusCode)
	}
}
