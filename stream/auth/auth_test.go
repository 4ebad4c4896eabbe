package auth

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const secret = "0123456789abcdefghijklmnopqrstuv"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newGuard(t *testing.T, o Options) (*Guard, *clock, *bytes.Buffer) {
	t.Helper()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	var logs bytes.Buffer
	if o.Token == "" {
		o.Token = secret
	}
	o.Now = c.now
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	return New(o), c, &logs
}

// get sends one request from remote through g.Wrap(level) and returns the
// response and whether the handler saw an authenticated request.
func get(g *Guard, level Level, remote, authz string) (*httptest.ResponseRecorder, bool) {
	var authed, reached bool
	h := g.Wrap(level, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached, authed = true, Authenticated(r.Context())
		fmt.Fprint(w, "ok")
	}))
	r := httptest.NewRequest("GET", "/api/status", nil)
	r.RemoteAddr = remote
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if !reached && w.Code == 200 {
		panic("200 without the handler")
	}
	return w, authed
}

func TestCheckToken(t *testing.T) {
	g, _, _ := newGuard(t, Options{})
	for _, tc := range []struct {
		authz string
		code  int
		www   string
	}{
		{"", 401, `Bearer realm="camd"`},
		{"Bearer " + secret, 200, ""},
		{"bearer  " + secret + " ", 200, ""},
		{"Bearer " + secret[:len(secret)-1], 401, `Bearer realm="camd", error="invalid_token"`},
		{"Bearer " + secret + "x", 401, `Bearer realm="camd", error="invalid_token"`},
		{"Bearer " + strings.ToUpper(secret), 401, `Bearer realm="camd", error="invalid_token"`},
		{"Basic " + secret, 401, `Bearer realm="camd", error="invalid_token"`},
		{"Bearer", 401, `Bearer realm="camd", error="invalid_token"`},
	} {
		// Each from its own address, so the limiter stays out of it.
		w, authed := get(g, View, fmt.Sprintf("192.0.2.%d:5000", len(tc.authz)%250+1), tc.authz)
		if w.Code != tc.code {
			t.Errorf("Authorization %q: %d, want %d", tc.authz, w.Code, tc.code)
		}
		if got := w.Header().Get("WWW-Authenticate"); got != tc.www {
			t.Errorf("Authorization %q: WWW-Authenticate %q, want %q", tc.authz, got, tc.www)
		}
		if tc.code == 401 && !strings.Contains(w.Body.String(), "camd token") {
			t.Errorf("401 body %q does not say how to get the link", w.Body.String())
		}
		if tc.code == 200 && !authed {
			t.Errorf("Authorization %q: handler did not see an authenticated request", tc.authz)
		}
	}
}

func TestOpenView(t *testing.T) {
	g, _, _ := newGuard(t, Options{OpenView: true})
	if w, authed := get(g, View, "192.0.2.1:1", ""); w.Code != 200 || authed {
		t.Errorf("open view without token: %d authenticated=%v, want 200 false", w.Code, authed)
	}
	if w, authed := get(g, View, "192.0.2.1:1", "Bearer "+secret); w.Code != 200 || !authed {
		t.Errorf("open view with token: %d authenticated=%v, want 200 true", w.Code, authed)
	}
	if w, _ := get(g, Control, "192.0.2.1:1", ""); w.Code != 401 {
		t.Errorf("control without token in open view mode: %d, want 401", w.Code)
	}
	if w, _ := get(g, Control, "192.0.2.1:1", "Bearer "+secret); w.Code != 200 {
		t.Errorf("control with token: %d, want 200", w.Code)
	}
	// A wrong token is refused even where none is needed: the person
	// holding it should learn that it is wrong.
	if w, _ := get(g, View, "192.0.2.1:1", "Bearer nope"); w.Code != 401 {
		t.Errorf("open view with a wrong token: %d, want 401", w.Code)
	}
}

func TestRateLimit(t *testing.T) {
	g, c, logs := newGuard(t, Options{Burst: 5, Refill: 10 * time.Second})
	const bad, other = "198.51.100.7:4000", "198.51.100.8:4000"
	for i := range 5 {
		if w, _ := get(g, View, bad, "Bearer guess"+fmt.Sprint(i)); w.Code != 401 {
			t.Fatalf("try %d: %d, want 401", i+1, w.Code)
		}
	}
	w, _ := get(g, View, bad, "Bearer guess6")
	if w.Code != 429 || w.Header().Get("Retry-After") != "10" {
		t.Fatalf("6th wrong token: %d Retry-After %q, want 429 10", w.Code, w.Header().Get("Retry-After"))
	}
	// While refused, even the right token is not checked.
	if w, _ := get(g, View, bad, "Bearer "+secret); w.Code != 429 {
		t.Errorf("right token while refused: %d, want 429", w.Code)
	}
	// Another address is not affected, nor is the same one on another port.
	if w, _ := get(g, View, other, "Bearer "+secret); w.Code != 200 {
		t.Errorf("another address: %d, want 200", w.Code)
	}
	// Missing tokens are not guesses.
	for range 20 {
		if w, _ := get(g, View, other, ""); w.Code != 401 {
			t.Fatalf("no token: %d, want 401", w.Code)
		}
	}
	c.add(10 * time.Second) // one try back
	if w, _ := get(g, View, bad, "Bearer "+secret); w.Code != 200 {
		t.Errorf("right token after the refill: %d, want 200", w.Code)
	}
	if w, _ := get(g, View, bad, "Bearer wrong-again"); w.Code != 401 {
		t.Errorf("wrong token after the refill: %d, want 401", w.Code)
	}
	if w, _ := get(g, View, bad, "Bearer wrong-again"); w.Code != 429 {
		t.Errorf("second wrong token after the refill: %d, want 429", w.Code)
	}
	if strings.Contains(logs.String(), "guess") || strings.Contains(logs.String(), secret) {
		t.Errorf("a token reached the log:\n%s", logs.String())
	}
	if n := strings.Count(logs.String(), "too many wrong tokens"); n != 2 {
		t.Errorf("logged the refusal %d times, want once per emptying (2):\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "remote=198.51.100.7") {
		t.Errorf("the log does not name the source:\n%s", logs.String())
	}
}

// IPv6 sources are limited by /64: a host owns the whole prefix.
func TestRateLimitIPv6Prefix(t *testing.T) {
	g, _, _ := newGuard(t, Options{Burst: 2})
	get(g, View, "[2001:db8:1:2::1]:1", "Bearer a")
	get(g, View, "[2001:db8:1:2::2]:1", "Bearer b")
	if w, _ := get(g, View, "[2001:db8:1:2::3]:1", "Bearer "+secret); w.Code != 429 {
		t.Errorf("same /64: %d, want 429", w.Code)
	}
	if w, _ := get(g, View, "[2001:db8:1:3::1]:1", "Bearer "+secret); w.Code != 200 {
		t.Errorf("another /64: %d, want 200", w.Code)
	}
}

// The limiter's table stays bounded under a flood of sources.
func TestRateLimitMemoryBounded(t *testing.T) {
	g, _, _ := newGuard(t, Options{MaxSources: 100})
	for i := range 5000 {
		get(g, View, fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255), "Bearer x")
	}
	if n := g.lim.size(); n > 100 {
		t.Errorf("the limiter remembers %d sources, cap 100", n)
	}
}

func TestGuardOff(t *testing.T) {
	g := New(Options{})
	if w, authed := get(g, Control, "192.0.2.1:1", ""); w.Code != 200 || !authed {
		t.Errorf("guard without a token: %d %v, want 200 true", w.Code, authed)
	}
}

func TestTokenFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "camd")
	tok, created, err := LoadOrCreate(dir)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate: %q %v %v", tok, created, err)
	}
	if len(tok) < MinTokenLen || CheckToken(tok) != nil {
		t.Errorf("generated token %q is short or not URL-safe", tok)
	}
	info, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", info.Mode().Perm())
	}
	if d, _ := os.Stat(dir); d.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode %v, want 0700", d.Mode().Perm())
	}
	again, created, err := LoadOrCreate(dir)
	if err != nil || created || again != tok {
		t.Errorf("second LoadOrCreate: %q created=%v %v; want the same token", again, created, err)
	}
	other, _ := NewToken()
	if other == tok {
		t.Error("two tokens are equal")
	}
	// A broken file is an error that says what to do, not a new token.
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(dir); err == nil || !strings.Contains(err.Error(), "delete the file") {
		t.Errorf("broken token file: %v", err)
	}
}

func TestTokenDirNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes anywhere")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	_, _, err := LoadOrCreate(filepath.Join(dir, "camd"))
	if err == nil || !strings.Contains(err.Error(), "state_dir") {
		t.Errorf("unwritable state directory: %v, want an error naming state_dir", err)
	}
}

func TestCheckConfiguredToken(t *testing.T) {
	for tok, ok := range map[string]bool{
		secret:                        true,
		"short":                       false,
		strings.Repeat("a", 21):       false,
		strings.Repeat("a", 22):       true,
		"has space in the token!!!":   false,
		"é" + strings.Repeat("a", 30): false,
	} {
		if err := CheckToken(tok); (err == nil) != ok {
			t.Errorf("CheckToken(%q) = %v, want ok=%v", tok, err, ok)
		}
	}
}
