package mdns

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// lan runs Responders on a memNet with a shared fake clock.
type lan struct {
	t       *testing.T
	clk     *fakeClock
	net     *memNet
	members []*member
	logs    *syncBuffer
}

type member struct {
	r       *Responder
	ep      *memEP
	cancel  context.CancelFunc
	done    chan error
	addrs   atomic.Pointer[[]netip.Addr]
	stopped bool
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLAN(t *testing.T) *lan {
	t.Helper()
	before := runtime.NumGoroutine()
	l := &lan{t: t, clk: newFakeClock(), net: &memNet{}, logs: &syncBuffer{}}
	t.Cleanup(func() {
		for _, m := range l.members {
			l.stop(m)
		}
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines leaked:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
		if t.Failed() {
			t.Logf("logs:\n%s", l.logs)
		}
	})
	return l
}

// start runs a Responder with the given addresses on the LAN.
func (l *lan) start(opts Options, addrs ...string) *member {
	l.t.Helper()
	m := &member{ep: l.net.endpoint(mdnsPort, addrs...), done: make(chan error, 1)}
	m.setAddrs(addrs...)
	opts.Clock, opts.Transport = l.clk, m.ep
	opts.Addrs = func() ([]Interface, error) {
		return []Interface{{Index: 1, Name: "mem0", Addrs: *m.addrs.Load()}}, nil
	}
	opts.Logger = slog.New(slog.NewTextHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if opts.Port == 0 {
		opts.Port = 8080
	}
	if opts.Instance == "" {
		opts.Instance = "camd on " + strings.ReplaceAll(addrs[0], ".", "-")
	}
	r, err := New(opts)
	if err != nil {
		l.t.Fatalf("New: %v", err)
	}
	m.r = r
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() { m.done <- r.Run(ctx) }()
	l.members = append(l.members, m)
	return m
}

func (m *member) setAddrs(addrs ...string) {
	var as []netip.Addr
	for _, a := range addrs {
		as = append(as, netip.MustParseAddr(a))
	}
	m.addrs.Store(&as)
}

func (l *lan) stop(m *member) {
	l.t.Helper()
	if m.stopped {
		return
	}
	m.stopped = true
	m.cancel()
	select {
	case err := <-m.done:
		if err != nil {
			l.t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		l.t.Fatal("Run did not return within 5 s of cancel")
	}
}

// settle waits until every running Responder has handled its packets and
// sleeps on its timer.
func (l *lan) settle() {
	l.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for stable := 0; stable < 3; {
		if time.Now().After(deadline) {
			l.t.Fatal("the LAN did not settle within 5 s")
		}
		ok, running := true, 0
		for _, m := range l.members {
			if m.stopped {
				continue
			}
			running++
			ok = ok && m.ep.idle() && len(m.r.wake) == 0
		}
		if n, _ := l.clk.armed(); n < running {
			ok = false
		}
		if ok {
			stable++
		} else {
			stable = 0
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// advance moves virtual time forward by d, one timer at a time.
func (l *lan) advance(d time.Duration) {
	l.t.Helper()
	end := l.clk.Now().Add(d)
	for {
		l.settle()
		n, at := l.clk.armed()
		if n == 0 || at.After(end) {
			l.clk.advanceTo(end)
			l.settle()
			return
		}
		l.clk.advanceTo(at)
	}
}

// observer is a joined endpoint that sees all multicast traffic.
func (l *lan) observer(addrs ...string) *memEP {
	e := l.net.endpoint(mdnsPort, addrs...)
	_ = e.Join(Interface{})
	return e
}

// find returns the records of recs with that name and type.
func find(recs []record, name string, t dnsmessage.Type) []record {
	var out []record
	for _, r := range recs {
		if nameIs(r.Name, name) && r.Type == t {
			out = append(out, r)
		}
	}
	return out
}

func isProbe(m message) bool {
	return !m.Header.Response && len(m.Authorities) > 0
}

// isAnnouncement tells an announcement (all records in the answer
// section) from an answer to a question.
func isAnnouncement(m message) bool {
	if !m.Header.Response || len(m.Answers) == 0 || m.Answers[0].TTL == 0 {
		return false
	}
	var a, srv bool
	for _, r := range m.Answers {
		a = a || r.Type == dnsmessage.TypeA
		srv = srv || r.Type == dnsmessage.TypeSRV
	}
	return a && srv
}
