package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Level is what a request may do.
type Level int

const (
	// View: watch the video and read the status. Open to everyone when
	// Options.OpenView is set.
	View Level = iota
	// Control: anything that needs the token whatever the config says
	// (the control DataChannels, /metrics).
	Control
)

// Hint is what a refused person reads: where the access link comes from.
const Hint = "this camera needs its access link; run `camd token` on it"

// Options configure a Guard. Zero values take the documented defaults.
type Options struct {
	// Token is the secret every request proves. Empty turns the guard off
	// (tests and embedders that do their own auth).
	Token string
	// OpenView lets requests without a token watch (Level View).
	OpenView bool
	// Burst is how many wrong tokens a source may send before it is
	// refused (default 5); after that it gets one more try per Refill
	// (default 12 s, five a minute).
	Burst  int
	Refill time.Duration
	// MaxSources caps the sources the limiter remembers (default 4096).
	MaxSources int
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Guard checks requests against the token.
type Guard struct {
	sum      [sha256.Size]byte // of the token
	on       bool
	openView bool
	lim      *limiter
	log      *slog.Logger
}

// New returns a Guard for o.
func New(o Options) *Guard {
	if o.Burst <= 0 {
		o.Burst = 5
	}
	if o.Refill <= 0 {
		o.Refill = 12 * time.Second
	}
	if o.MaxSources <= 0 {
		o.MaxSources = 4096
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Guard{
		sum: sha256.Sum256([]byte(o.Token)), on: o.Token != "", openView: o.OpenView,
		lim: newLimiter(o.Burst, o.Refill, o.MaxSources, o.Now), log: o.Logger,
	}
}

// Enabled reports whether the guard checks anything.
func (g *Guard) Enabled() bool { return g != nil && g.on }

// Verdict is the outcome of checking one request.
type Verdict struct {
	// Authenticated: the request carried the right token (always true
	// when the guard is off).
	Authenticated bool
	// Status is 0 when the request may go on, else the HTTP status to
	// refuse it with (401 or 429).
	Status int
	// RetryAfter is set with 429.
	RetryAfter time.Duration
	// Reason is a line for the person who sent the request.
	Reason string
}

// match compares in constant time. Hashing first makes the comparison's
// time independent of the lengths as well as of the contents.
func (g *Guard) match(t string) bool {
	s := sha256.Sum256([]byte(t))
	return subtle.ConstantTimeCompare(s[:], g.sum[:]) == 1
}

// bearer returns the token of an "Authorization: Bearer" header, and
// whether there was any Authorization header.
func bearer(r *http.Request) (token string, present bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, t, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(t), true
}

// remoteAddr is the request's source address (the TCP peer; camd trusts
// no forwarding headers).
func remoteAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr()
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	a, _ := netip.ParseAddr(host)
	return a
}

// Check decides on r for level. A wrong token counts against its source;
// a missing one does not (the page asks without one first, and guessing
// needs tokens).
func (g *Guard) Check(r *http.Request, level Level) Verdict {
	if !g.Enabled() {
		return Verdict{Authenticated: true}
	}
	src := remoteAddr(r)
	if wait := g.lim.blocked(src); wait > 0 {
		return Verdict{Status: http.StatusTooManyRequests, RetryAfter: wait,
			Reason: fmt.Sprintf("too many wrong tokens from %s; try again in %v", src, wait.Round(time.Second))}
	}
	t, present := bearer(r)
	switch {
	case t != "" && g.match(t):
		return Verdict{Authenticated: true}
	case present:
		if g.lim.fail(src) {
			g.log.Warn("auth: too many wrong tokens; refusing the source for a while", "remote", src.String(), "path", r.URL.Path)
		} else {
			g.log.Info("auth: wrong token", "remote", src.String(), "path", r.URL.Path)
		}
		return Verdict{Status: http.StatusUnauthorized, Reason: "wrong token: " + Hint}
	case level == View && g.openView:
		return Verdict{}
	}
	return Verdict{Status: http.StatusUnauthorized, Reason: Hint}
}

type ctxKey struct{}

// Authenticated reports whether the request that ctx belongs to carried
// the token (set by Wrap).
func Authenticated(ctx context.Context) bool {
	v, _ := ctx.Value(ctxKey{}).(bool)
	return v
}

// Wrap serves h only to requests that pass Check for level; the others
// get 401 (with WWW-Authenticate, RFC 6750 §3) or 429 (with Retry-After)
// and a one-line reason. h learns through Authenticated whether the
// request carried the token.
func (g *Guard) Wrap(level Level, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := g.Check(r, level)
		if v.Status != 0 {
			Refuse(w, v)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, v.Authenticated)))
	})
}

// Refuse writes v's refusal.
func Refuse(w http.ResponseWriter, v Verdict) {
	h := w.Header()
	switch v.Status {
	case http.StatusUnauthorized:
		c := `Bearer realm="camd"`
		if strings.HasPrefix(v.Reason, "wrong") {
			c += `, error="invalid_token"`
		}
		h.Set("WWW-Authenticate", c)
	case http.StatusTooManyRequests:
		h.Set("Retry-After", fmt.Sprint(int(math.Ceil(v.RetryAfter.Seconds()))))
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(v.Status)
	fmt.Fprintln(w, v.Reason)
}
