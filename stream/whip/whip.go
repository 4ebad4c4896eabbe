// Package whip publishes camd's one encode to a WHIP endpoint (RFC 9725):
// a media server or SFU (mediamtx, LiveKit ingress, Janus, a cloud ingest)
// that fans it out further. The push is a stream.Outbound: the hub feeds it
// like any viewer and its congestion feedback joins the bitrate policy.
//
// One session at a time: OPTIONS for the ICE servers (§4.6), POST of the
// offer with the Bearer token (§4.2), the answer and Location from 201,
// DELETE of the resource on shutdown (§4.3). When the POST fails or the
// connection drops (ICE failed, which pion declares after its disconnected
// and failed timeouts) the publisher tries again after an exponential
// backoff with jitter. https://www.rfc-editor.org/rfc/rfc9725
package whip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/camd-project/camd/internal/httpc"
	"github.com/camd-project/camd/stream"
)

// Sender makes outbound sessions; *stream.Server is one.
type Sender interface {
	NewOutbound(stream.OutboundOptions) (*stream.Outbound, string, error)
}

// Options configure a Publisher. Zero values take the documented defaults.
type Options struct {
	// URL is the WHIP endpoint (http or https).
	URL string
	// Token is sent as Authorization: Bearer; empty sends none.
	Token string
	// BackoffMin and BackoffMax bound the wait before the next attempt
	// (defaults 1 s and 30 s): it doubles after each failure, with up to
	// half of it taken off at random so that many cameras do not come
	// back at the same instant, and starts again at BackoffMin after a
	// session that connected.
	BackoffMin, BackoffMax time.Duration
	// DisconnectedMax is how long the connection may stay ICE-disconnected
	// before the publisher starts over (default 5 s).
	DisconnectedMax time.Duration
	// ICEServers are used with the endpoint's own (Link headers).
	ICEServers []webrtc.ICEServer
	// HTTPClient sends the requests; nil uses an internal/httpc client
	// with a 10 s timeout (net/http's Client would cost the binary 0.4 MB).
	HTTPClient Doer
	Logger     *slog.Logger

	// Tests: the clock and the wait between attempts.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	rand  func() float64
}

// Doer sends one HTTP request: *http.Client and *httpc.Client are Doers.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Errors the endpoint's answers map to; the wrapped error says more.
var (
	ErrUnauthorized = errors.New("whip: the endpoint refused the token (check whip.token or CAMD_WHIP_TOKEN)")
	ErrNotFound     = errors.New("whip: no such endpoint (check whip.url)")
	ErrConflict     = errors.New("whip: the endpoint already has a publisher for this stream")
	ErrRejected     = errors.New("whip: the endpoint rejected the offer")
	ErrServer       = errors.New("whip: the endpoint failed")
	ErrLost         = errors.New("whip: connection lost")
)

// Publisher keeps one push to the endpoint up until its context ends.
type Publisher struct {
	sender Sender
	o      Options
	url    string // without user info, for logs and status
	log    *slog.Logger

	mu        sync.Mutex
	st        stream.PushStatus
	linkICE   []webrtc.ICEServer // from the endpoint's last 201
	failures  int                // since the last session that connected
	retryHint time.Duration      // Retry-After of the last refusal
}

// New returns a publisher for the endpoint; Run starts it.
func New(sender Sender, o Options) (*Publisher, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("whip: URL %q: want http:// or https:// with a host", o.URL)
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 30 * time.Second
	}
	o.BackoffMax = max(o.BackoffMax, o.BackoffMin)
	if o.DisconnectedMax <= 0 {
		o.DisconnectedMax = 5 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &httpc.Client{Timeout: 10 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.sleep == nil {
		o.sleep = sleepCtx
	}
	if o.rand == nil {
		o.rand = rand.Float64
	}
	p := &Publisher{sender: sender, o: o, url: redact(u), log: o.Logger.With("component", "whip", "url", redact(u))}
	p.st = stream.PushStatus{URL: p.url, State: "connecting", Since: o.now()}
	return p, nil
}

// redact drops user info from a URL for logs and status.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run publishes until ctx ends, reconnecting after failures. It returns
// nil when ctx ends: a push that cannot reach its endpoint is logged and
// retried, never fatal to camd.
func (p *Publisher) Run(ctx context.Context) error {
	for {
		err := p.session(ctx)
		if ctx.Err() != nil {
			p.setState("stopped", func(s *stream.PushStatus) { s.Connected = false })
			return nil
		}
		wait := p.backoff()
		p.log.Warn("push failed; retrying", "err", err, "in", wait.Round(time.Millisecond))
		next := p.o.now().Add(wait)
		p.setState("retrying", func(s *stream.PushStatus) {
			s.Connected, s.LastError, s.ErrorAt, s.NextAttempt = false, err.Error(), p.o.now(), next
		})
		if p.o.sleep(ctx, wait) != nil {
			p.setState("stopped", nil)
			return nil
		}
	}
}

// backoff is the wait before the next attempt: BackoffMin doubled per
// failure since the last connected session, capped at BackoffMax, less up
// to half at random; never less than the endpoint's Retry-After.
func (p *Publisher) backoff() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.o.BackoffMin
	for i := 0; i < p.failures && d < p.o.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.o.BackoffMax)
	p.failures++
	d -= time.Duration(p.o.rand() * float64(d) / 2)
	if p.retryHint > d {
		d = min(p.retryHint, 5*p.o.BackoffMax)
	}
	p.retryHint = 0
	return d
}

func (p *Publisher) setState(state string, f func(*stream.PushStatus)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st.State != state {
		p.st.State, p.st.Since = state, p.o.now()
	}
	if f != nil {
		f(&p.st)
	}
}

// Status reports the push for /api/status.
func (p *Publisher) Status() stream.PushStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// session runs one push: it returns when ctx ends or the push failed.
func (p *Publisher) session(ctx context.Context) error {
	p.setState("connecting", func(s *stream.PushStatus) {
		s.Attempts++
		s.Resource, s.Session, s.NextAttempt = "", "", time.Time{}
	})
	ice := p.iceServers(ctx)
	out, offer, err := p.sender.NewOutbound(stream.OutboundOptions{Remote: p.url, ICEServers: ice})
	if err != nil {
		return err
	}
	defer out.Close()
	answer, resource, err := p.post(ctx, offer)
	if err != nil {
		return err
	}
	p.setState("connecting", func(s *stream.PushStatus) { s.Resource, s.Session = resource, out.ID() })
	defer p.deleteResource(resource)
	if err := out.Accept(answer); err != nil {
		return err
	}
	p.log.Info("offer accepted; connecting", "resource", resource, "session", out.ID())
	select {
	case <-out.Connected():
	case <-out.Done():
		return fmt.Errorf("%w: never connected (state %s)", ErrLost, out.State())
	case <-ctx.Done():
		return ctx.Err()
	}
	since := p.o.now()
	p.mu.Lock()
	p.failures = 0
	p.mu.Unlock()
	p.setState("connected", func(s *stream.PushStatus) { s.Connected = true; s.Connects++ })
	p.log.Info("pushing", "resource", resource, "session", out.ID())
	// ICE reports disconnected after a few seconds without an answer from
	// the endpoint; give it DisconnectedMax to come back before starting
	// over, rather than pion's longer failed timeout.
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var down time.Time
	for {
		select {
		case <-out.Done():
			return fmt.Errorf("%w after %s (state %s)", ErrLost, p.o.now().Sub(since).Round(time.Second), out.State())
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		switch st := out.State(); {
		case st != webrtc.PeerConnectionStateDisconnected:
			down = time.Time{}
		case down.IsZero():
			down = time.Now()
			p.log.Info("ICE disconnected; waiting for it to come back", "for", p.o.DisconnectedMax)
		case time.Since(down) >= p.o.DisconnectedMax:
			return fmt.Errorf("%w: ICE disconnected for %s", ErrLost, time.Since(down).Round(time.Second))
		}
	}
}

// iceServers are the configured ones plus what the endpoint offers: the
// Link headers of an OPTIONS request, or of the last 201.
func (p *Publisher) iceServers(ctx context.Context) []webrtc.ICEServer {
	servers := append([]webrtc.ICEServer(nil), p.o.ICEServers...)
	req, err := p.request(ctx, http.MethodOptions, p.o.URL, nil)
	if err == nil {
		resp, err := p.o.HTTPClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				if l := parseLinks(resp.Header.Values("Link")); len(l) > 0 {
					return append(servers, l...)
				}
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(servers, p.linkICE...)
}

func (p *Publisher) request(ctx context.Context, method, u string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, fmt.Errorf("whip: %w", err)
	}
	if p.o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+p.o.Token)
	}
	return req, nil
}

// post sends the offer and returns the answer and the resource URL.
func (p *Publisher) post(ctx context.Context, offer string) (answer, resource string, err error) {
	req, err := p.request(ctx, http.MethodPost, p.o.URL, []byte(offer))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := p.o.HTTPClient.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("whip: POST: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
	if err != nil {
		return "", "", fmt.Errorf("whip: reading the answer: %w", err)
	}
	if err := statusError(resp, body); err != nil {
		if ra, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && ra > 0 {
			p.mu.Lock()
			p.retryHint = time.Duration(ra) * time.Second
			p.mu.Unlock()
		}
		return "", "", err
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/sdp") {
		return "", "", fmt.Errorf("%w: answer has Content-Type %q, want application/sdp", ErrRejected, ct)
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", "", fmt.Errorf("%w: 201 without Location", ErrServer)
	}
	base := resp.Request.URL // after redirects (§4.5)
	ru, err := base.Parse(loc)
	if err != nil {
		return "", "", fmt.Errorf("%w: bad Location %q: %v", ErrServer, loc, err)
	}
	if l := parseLinks(resp.Header.Values("Link")); len(l) > 0 {
		p.mu.Lock()
		p.linkICE = l
		p.mu.Unlock()
	}
	return string(body), ru.String(), nil
}

// statusError turns a refusal into an error a person can act on.
func statusError(resp *http.Response, body []byte) error {
	if resp.StatusCode == http.StatusCreated {
		return nil
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	var kind error
	switch c := resp.StatusCode; {
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		kind = ErrUnauthorized
	case c == http.StatusNotFound:
		kind = ErrNotFound
	case c == http.StatusConflict:
		kind = ErrConflict
	case c >= 500:
		kind = ErrServer
	default:
		kind = ErrRejected
	}
	return fmt.Errorf("%w: %s: %s", kind, resp.Status, msg)
}

// deleteResource ends the session on the endpoint (§4.3); it runs when a
// session ends for any reason, with its own short deadline.
func (p *Publisher) deleteResource(resource string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := p.request(ctx, http.MethodDelete, resource, nil)
	if err != nil {
		return
	}
	resp, err := p.o.HTTPClient.Do(req)
	if err != nil {
		p.log.Debug("DELETE", "resource", resource, "err", err)
		return
	}
	resp.Body.Close()
	p.log.Debug("DELETE", "resource", resource, "status", resp.StatusCode)
}

// parseLinks reads ICE servers from Link headers (RFC 9725 §4.6):
//
//	<turn:turn.example.net?transport=udp>; rel="ice-server"; username="u"; credential="p"; credential-type="password"
func parseLinks(values []string) []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, v := range values {
		for _, link := range splitLinks(v) {
			start, end := strings.IndexByte(link, '<'), strings.IndexByte(link, '>')
			if start < 0 || end < start {
				continue
			}
			srv := webrtc.ICEServer{URLs: []string{strings.TrimSpace(link[start+1 : end])}}
			ice := false
			for _, param := range strings.Split(link[end+1:], ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(param), "=")
				if !ok {
					continue
				}
				v = strings.Trim(strings.TrimSpace(v), `"`)
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "rel":
					ice = strings.EqualFold(v, "ice-server")
				case "username":
					srv.Username = v
				case "credential":
					srv.Credential = v
				}
			}
			if ice {
				out = append(out, srv)
			}
		}
	}
	return out
}

// splitLinks splits a Link header value at the commas between links
// (not those inside <…> or quotes).
func splitLinks(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i, r := range v {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case r == '<':
			depth++
		case r == '>':
			depth--
		case r == ',' && depth == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}
