package rtsp

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/camd-project/camd/stream"
)

// FuzzConn feeds a connection arbitrary bytes: requests, interleaved
// frames, garbage. The server answers or hangs up, and never panics.
func FuzzConn(f *testing.F) {
	for _, s := range []string{
		"OPTIONS rtsp://h/camd RTSP/1.0\r\nCSeq: 1\r\n\r\n",
		"DESCRIBE rtsp://h/camd RTSP/1.0\r\nCSeq: 2\r\nAuthorization: Basic Y2FtZDp0b2tlbg==\r\n\r\n",
		"DESCRIBE rtsp://h/camd RTSP/1.0\r\nCSeq: 2\r\nAuthorization: Digest username=\"a\", realm=\"camd\", nonce=\"x\", uri=\"rtsp://h/camd\", response=\"y\"\r\n\r\n",
		"SETUP rtsp://h/camd/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nAuthorization: Basic Y2FtZDp0b2tlbg==\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n" +
			"PLAY rtsp://h/camd RTSP/1.0\r\nCSeq: 4\r\nSession: 12345678\r\n\r\n",
		"SETUP rtsp://h/camd RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP;unicast;client_port=4000-4001\r\n\r\n",
		"$\x01\x00\x04abcdGET_PARAMETER rtsp://h/camd RTSP/1.0\r\nCSeq: 5\r\n\r\n",
		"TEARDOWN * RTSP/1.0\r\nCSeq: 6\r\nContent-Length: 3\r\n\r\nabc",
	} {
		f.Add([]byte(s))
	}
	hub := stream.NewHub(stream.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	defer hub.Close()
	srv := New(hub, Options{Password: func(string) (string, bool) { return "token", true },
		IdleTimeout: time.Second, WriteTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := net.Pipe()
		c := newConn(srv, a)
		done := make(chan struct{})
		go func() { defer close(done); c.serve() }()
		go func() { _, _ = io.Copy(io.Discard, b) }()
		_, _ = b.Write(data)
		b.Close()
		<-done
		srv.wg.Wait() // a reader that PLAY started
	})
}
