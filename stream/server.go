package stream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/camd-project/camd/stream/auth"
	"github.com/camd-project/camd/stream/web"
)

var errTooManyViewers = errors.New("viewer limit reached")

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	// ICEServers are given to every PeerConnection and advertised to WHEP
	// clients in Link headers.
	ICEServers []webrtc.ICEServer
	// MaxViewers caps concurrent WHEP sessions (default 16); beyond it
	// POST answers 503 with Retry-After.
	MaxViewers int
	// MaxConns caps open HTTP connections (default 256); one more is
	// answered 503 and closed.
	MaxConns int
	// IncludeLoopback offers 127.0.0.1 candidates (tests, same-host viewers).
	IncludeLoopback bool
	// UDPPort is the one UDP port all viewers share (pion's UDP mux); 0
	// gives each viewer ephemeral ports.
	UDPPort int
	// PublicIPs are announced instead of the host's addresses (1:1 NAT).
	PublicIPs []string
	// Interfaces limits ICE to these network interfaces; empty means all.
	Interfaces []string
	// Peers lists other cameras found on the LAN, for /api/peers; nil
	// serves an empty list.
	Peers func() any
	// Control, when set, gives every viewer that carried the token the
	// control DataChannels (docs/control.md); *control.Router is one.
	Control Controller
	// Auth guards the endpoints (nil: everything open, for tests and
	// embedders). The page's files, /healthz and OPTIONS are always open;
	// WHEP and /api/* need auth.View; /metrics needs auth.Control. A
	// WHEP session made with the token can be changed (PATCH, DELETE)
	// only with the token, and only a session made with the token gets the
	// control channels.
	Auth *auth.Guard
	// GatherTimeout caps the wait for ICE candidates before answering
	// (default 2 s; host candidates take milliseconds).
	GatherTimeout time.Duration
	// ConnectTimeout closes a session that never connects (default 30 s).
	ConnectTimeout time.Duration
	// FailedTimeout is how long ICE waits for a silent viewer before the
	// session is reaped (default 15 s after the 5 s disconnect timeout).
	FailedTimeout time.Duration
	// Status reports the source and encoder for /api/status; the server
	// fills in the viewers.
	Status func() Status
	// Bitrate receives the encoder target that the viewers' bandwidth
	// estimates call for (encode.Encoder is one); nil leaves the encoder
	// alone, while estimates are still made and shown.
	Bitrate BitrateSetter
	// Policy turns the estimates into the target (see PolicyOptions).
	Policy PolicyOptions
	// KeyLog, when set, receives every session's DTLS keys in the NSS key
	// log format, for Wireshark (debugging only: it defeats the encryption).
	KeyLog io.Writer
	// Snapshot returns the latest picture as a JPEG for /snapshot.jpg,
	// within ctx; an error wrapping errors.ErrUnsupported means the
	// source has no picture (501). nil: /snapshot.jpg answers 501.
	Snapshot func(ctx context.Context) ([]byte, error)

	net    transport.Net // tests: a virtual network instead of the host's
	Logger *slog.Logger
	// Now is the clock served by /api/time (default time.Now).
	Now func() time.Time
}

// Controller attaches the control DataChannels to a viewer's
// PeerConnection before the offer is applied; detach runs when the viewer
// goes. authenticated says whether the viewer proved who it is.
type Controller interface {
	AttachPeer(pc *webrtc.PeerConnection, viewerID string, authenticated bool) (detach func(), err error)
}

// Server serves the page, the WHEP endpoint and the status API.
type Server struct {
	hub    *Hub
	opts   Options
	api    *webrtc.API
	log    *slog.Logger
	routes *http.ServeMux
	mux    *ice.MultiUDPMuxDefault // nil without a shared UDP port
	rc     *rateControl
	est    *estimators
	names  *mdnsQuerier // nil on a virtual network (tests)

	out      outbounds   // pushes (outbound.go)
	idle     idleRelease // memory back to the system when all have left
	mu       sync.Mutex
	sessions map[string]*session
	closed   bool
}

// NewServer returns a server that feeds WHEP viewers from hub.
func NewServer(hub *Hub, opts Options) (*Server, error) {
	if opts.MaxViewers <= 0 {
		opts.MaxViewers = 16
	}
	if opts.GatherTimeout <= 0 {
		opts.GatherTimeout = 2 * time.Second
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Auth == nil {
		opts.Auth = auth.New(auth.Options{})
	}
	s := &Server{hub: hub, opts: opts, log: opts.Logger, sessions: make(map[string]*session)}
	s.rc = newRateControl(opts.Bitrate, opts.Policy, s.sessionList, opts.Logger)
	ao := apiOptions{
		IncludeLoopback: opts.IncludeLoopback,
		FailedTimeout:   opts.FailedTimeout,
		PublicIPs:       opts.PublicIPs,
		Interfaces:      opts.Interfaces,
		Estimators:      &estimators{opts: s.bweOptions},
		Net:             opts.net,
		KeyLog:          opts.KeyLog,
	}
	s.est = ao.Estimators
	var mux *ice.MultiUDPMuxDefault
	if opts.UDPPort > 0 {
		var err error
		if mux, err = newUDPMux(opts.UDPPort, opts.IncludeLoopback, opts.Interfaces); err != nil {
			return nil, err
		}
		ao.UDPMux = mux
	}
	api, err := newAPI(ao)
	if err != nil {
		if mux != nil {
			_ = mux.Close()
		}
		return nil, err
	}
	s.api, s.mux = api, mux
	if opts.net == nil {
		s.names = &mdnsQuerier{includeLoopback: opts.IncludeLoopback, interfaces: opts.Interfaces, log: opts.Logger}
	}
	s.setRoutes()
	s.rc.start()
	return s, nil
}

// bweOptions configure the estimator of a new viewer: it starts at the
// current target, so a newcomer does not pull the others down before its
// first feedback, and it estimates up to the ceiling.
func (s *Server) bweOptions() bweOptions {
	_, ceiling := s.rc.rangeNow()
	return bweOptions{
		Initial: s.rc.currentTarget(),
		Min:     minEstimate,
		Max:     ceiling,
		Log:     s.log.With("component", "bwe"),
		Prober:  proberOptions{Off: s.opts.Bitrate == nil},
	}
}

// minEstimate is the lowest estimate GCC gives, well below any useful
// floor, so a viewer below the floor shows by how much.
const minEstimate = 50_000

// resolver is the shared resolver of viewers' .local names, or nil.
func (s *Server) resolver() nameResolver {
	if s.names == nil {
		return nil // not a typed nil in the interface
	}
	return s.names
}

// sessionList returns the live sessions.
func (s *Server) sessionList() []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*session, 0, len(s.sessions))
	for _, v := range s.sessions {
		if v != nil {
			out = append(out, v)
		}
	}
	return append(out, s.out.list()...)
}

func (s *Server) setRoutes() {
	m := http.NewServeMux()
	g := s.opts.Auth
	// view and control guard a handler; WHEP refusals carry CORS headers,
	// so a player on another origin can read them.
	view := func(h http.HandlerFunc) http.Handler { return g.Wrap(auth.View, h) }
	whep := func(h http.HandlerFunc) http.Handler {
		inner := g.Wrap(auth.View, h)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.cors(w); inner.ServeHTTP(w, r) })
	}
	m.Handle("POST /whep", whep(s.whepPost))
	m.HandleFunc("OPTIONS /whep", s.whepOptions) // preflights carry no credentials
	m.Handle("PATCH /whep/{id}", whep(s.whepPatch))
	m.Handle("DELETE /whep/{id}", whep(s.whepDelete))
	m.HandleFunc("OPTIONS /whep/{id}", s.whepOptions)
	m.HandleFunc("GET /whep", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", "POST, OPTIONS")
		httpError(w, http.StatusMethodNotAllowed, "WHEP endpoint: POST an SDP offer")
	})
	m.Handle("GET /api/time", view(s.apiTime))
	m.Handle("GET /api/status", view(s.apiStatus))
	m.HandleFunc("GET /healthz", s.healthz) // for supervisors: says only whether video flows
	m.Handle("GET /metrics", g.Wrap(auth.Control, http.HandlerFunc(s.metrics)))
	m.Handle("GET /api/peers", view(s.apiPeers))
	m.Handle("GET /snapshot.jpg", view(s.snapshot))
	static, err := fs.Sub(web.FS, ".")
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	files := http.FileServerFS(static)
	m.Handle("GET /", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The page is tiny; always revalidate so an upgrade shows at once.
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
	s.routes = m
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.routes }

// Serve serves HTTP on ln until ctx is done, then closes every viewer and
// shuts the listener down. Cancellation is not an error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.routes,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(limitConns(ln, s.opts.MaxConns, s.log)) }()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("stream: Serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-errc
	s.Close()
	if err != nil {
		return fmt.Errorf("stream: Shutdown: %w", err)
	}
	return nil
}

// Close ends every viewer session, refuses new ones and frees the shared
// UDP port.
func (s *Server) Close() {
	s.mu.Lock()
	wasClosed := s.closed
	s.closed = true
	all := make([]*session, 0, len(s.sessions))
	for _, v := range s.sessions {
		all = append(all, v)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, v := range all {
		wg.Add(1)
		go func() { defer wg.Done(); v.Close() }()
	}
	wg.Wait()
	s.out.closeAll()
	s.idle.stop()
	if !wasClosed {
		s.rc.stop()
	}
	if s.names != nil {
		s.names.close()
	}
	if s.mux != nil && !wasClosed {
		if err := s.mux.Close(); err != nil {
			s.log.Debug("udp mux close", "err", err)
		}
	}
}

// apiPeers lists the other camd instances found on the LAN (DNS-SD).
func (s *Server) apiPeers(w http.ResponseWriter, _ *http.Request) {
	var peers any = []any{}
	if s.opts.Peers != nil {
		peers = s.opts.Peers()
	}
	writeJSON(w, peers)
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) newSession(offer, remote string, authenticated bool) (*session, string, error) {
	id := newID()
	// Reserve the slot first, so concurrent POSTs cannot exceed the cap.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, "", errors.New("server is shutting down")
	}
	if len(s.sessions) >= s.opts.MaxViewers {
		s.mu.Unlock()
		return nil, "", errTooManyViewers
	}
	s.sessions[id] = nil
	s.mu.Unlock()

	sess, answer, err := newSession(s.api, s.hub, s.log, offer, sessionOptions{
		id:             id,
		remote:         remote,
		authenticated:  authenticated,
		config:         webrtc.Configuration{ICEServers: s.opts.ICEServers},
		gatherTimeout:  s.opts.GatherTimeout,
		connectTimeout: s.opts.ConnectTimeout,
		control:        s.opts.Control,
		estimators:     s.est,
		target:         s.rc.currentTarget,
		names:          s.resolver(),
	}, s.forget)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		delete(s.sessions, id)
		return nil, "", err
	}
	if s.closed {
		delete(s.sessions, id)
		go sess.Close()
		return nil, "", errors.New("server is shutting down")
	}
	s.sessions[id] = sess
	if sess.isClosed() { // it failed while being set up: forget already ran
		delete(s.sessions, id)
	}
	return sess, answer, nil
}

func (s *Server) forget(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[sess.id] == sess {
		delete(s.sessions, sess.id)
	}
	if len(s.sessions) == 0 && !s.closed {
		s.idle.arm()
	}
}

func (s *Server) session(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

func (s *Server) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiTime lets the page estimate its clock offset to camd, NTP-style, so
// the latency read from the test pattern is right on other machines too.
func (s *Server) apiTime(w http.ResponseWriter, _ *http.Request) {
	now := s.opts.Now()
	writeJSON(w, map[string]float64{"now_ms": float64(now.UnixMicro()) / 1000})
}

// healthz answers 200 while access units flow and 503 when none came for
// five seconds, so a supervisor can tell a stuck pipeline from a live one.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	last := s.hub.Stats().LastUnit
	if age := s.opts.Now().Sub(last); last.IsZero() || age > 5*time.Second {
		httpError(w, http.StatusServiceUnavailable, "no video for %s", age.Round(time.Second))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}
