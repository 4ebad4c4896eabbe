// Package httpc is the small HTTP/1.1 client behind camd's few outgoing
// requests: the WHIP push and `camd selftest` asking a running camd for its
// status.
//
// net/http's Client would do, but its Transport (connection pooling,
// proxies, HTTP/2 upgrade, and their tables) costs about 0.4 MB in the
// stripped arm64 binary, which camd, shipped as firmware for boards with
// small flash, cannot spend on three requests a minute. Client sends each
// request on its own connection (Connection: close), over TLS for https,
// reads the answer with net/http's own parser, and follows 307 and 308
// redirects as RFC 9725 (WHIP) asks of a client.
package httpc

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Client sends HTTP/1.1 requests, one connection each. The zero value is
// ready to use.
type Client struct {
	// Timeout bounds one exchange (connect, TLS, request, answer headers
	// and body) including redirects; 0 means 10 s. The request's context
	// may end it sooner.
	Timeout time.Duration
	// TLS is the configuration for https; nil uses the system's roots.
	// ServerName is filled in from the URL when empty.
	TLS *tls.Config
}

// maxRedirects is how many 307/308 answers one Do follows.
const maxRedirects = 5

// Do sends req and returns the answer; the caller must close its Body.
// A 307 or 308 is followed (method and body kept; the body is sent again
// through req.GetBody, which http.NewRequest sets for in-memory bodies).
// resp.Request is the request that was finally answered, so relative
// URLs in the answer resolve against the redirected location.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	for hop := 0; ; hop++ {
		resp, err := c.once(ctx, req.WithContext(ctx))
		if err != nil {
			cancel()
			return nil, err
		}
		if resp.StatusCode != http.StatusTemporaryRedirect && resp.StatusCode != http.StatusPermanentRedirect {
			resp.Body = &body{ReadCloser: resp.Body, done: cancel}
			return resp, nil
		}
		loc := resp.Header.Get("Location")
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if loc == "" {
			cancel()
			return nil, fmt.Errorf("httpc: %s %s: %s without Location", req.Method, req.URL.Redacted(), resp.Status)
		}
		if hop == maxRedirects {
			cancel()
			return nil, fmt.Errorf("httpc: %s %s: more than %d redirects", req.Method, req.URL.Redacted(), maxRedirects)
		}
		next, err := req.URL.Parse(loc)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("httpc: bad redirect Location %q: %w", loc, err)
		}
		nreq := req.Clone(req.Context())
		nreq.URL, nreq.Host = next, ""
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				cancel()
				return nil, fmt.Errorf("httpc: %s %s redirected, and its body cannot be sent again", req.Method, req.URL.Redacted())
			}
			if nreq.Body, err = req.GetBody(); err != nil {
				cancel()
				return nil, err
			}
		}
		req = nreq
	}
}

// once sends req on a new connection. The connection closes with the
// answer's Body, or when ctx ends.
func (c *Client) once(ctx context.Context, req *http.Request) (*http.Response, error) {
	u := req.URL
	port := u.Port()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("httpc: %s: only http and https", u.Redacted())
	case port == "" && u.Scheme == "https":
		port = "443"
	case port == "":
		port = "80"
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*http.Response, error) {
		stop()
		conn.Close()
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case errors.Is(err, os.ErrDeadlineExceeded): // the connection's deadline is ctx's
			err = context.DeadlineExceeded
		}
		return nil, fmt.Errorf("httpc: %s %s: %w", req.Method, u.Redacted(), err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if u.Scheme == "https" {
		cfg := &tls.Config{}
		if c.TLS != nil {
			cfg = c.TLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(err)
		}
		conn = tc
	}
	req.Close = true // one request per connection: "Connection: close"
	if err := req.Write(conn); err != nil {
		return fail(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return fail(err)
	}
	resp.Body = &body{ReadCloser: resp.Body, done: func() { stop(); conn.Close() }}
	return resp, nil
}

// body closes the connection with the answer's body.
type body struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *body) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
