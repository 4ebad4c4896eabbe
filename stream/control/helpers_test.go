package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/camd-project/camd/hw/tello"
)

// checkGoroutines fails the test if goroutines started during it are still
// running when its cleanups are done. Call it first.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				var b bytes.Buffer
				pprof.Lookup("goroutine").WriteTo(&b, 1)
				t.Errorf("goroutines: %d at the end, %d before. Still running:\n%s", runtime.NumGoroutine(), before, b.String())
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// fakeClock is a tello.Clock that moves only when told.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	tickers []*fakeTicker
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

type fakeTicker struct {
	c       *fakeClock
	ch      chan time.Time
	period  time.Duration
	next    time.Time
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) tello.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

func (c *fakeClock) NewTicker(d time.Duration) tello.Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTicker{c: c, ch: make(chan time.Time, 1), period: d, next: c.now.Add(d)}
	c.tickers = append(c.tickers, t)
	return t
}

func (t *fakeTicker) C() <-chan time.Time { return t.ch }
func (t *fakeTicker) Stop()               { t.c.mu.Lock(); t.stopped = true; t.c.mu.Unlock() }

// Advance moves the clock on by d, running due timers (in order, each after
// the clock reached its time) and sending due ticks.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.stopped && !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			c.now = end
			for _, t := range c.tickers {
				for !t.stopped && !t.next.After(c.now) {
					select {
					case t.ch <- t.next:
					default:
					}
					t.next = t.next.Add(t.period)
				}
			}
			c.mu.Unlock()
			return
		}
		next.stopped = true
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.f()
	}
}

// fakeChannel records what the Router sends to one viewer's channel.
type fakeChannel struct {
	mu   sync.Mutex
	msgs [][]byte
	fail bool
	poke chan struct{}
}

func newFakeChannel() *fakeChannel { return &fakeChannel{poke: make(chan struct{}, 1)} }

func (c *fakeChannel) Send(msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return errors.New("channel closed")
	}
	c.msgs = append(c.msgs, bytes.Clone(msg))
	select {
	case c.poke <- struct{}{}:
	default:
	}
	return nil
}

// msg is a decoded message camd sent.
type msg map[string]any

func (m msg) str(k string) string { s, _ := m[k].(string); return s }
func (m msg) num(k string) float64 {
	f, _ := m[k].(float64)
	return f
}

// fakeViewer is one attached viewer with fake channels.
type fakeViewer struct {
	t         *testing.T
	r         *Router
	id        string
	reliable  *fakeChannel
	unordered *fakeChannel
	read      int // messages of reliable already taken
	detach    func()
}

func attach(t *testing.T, r *Router, id string, authenticated bool) *fakeViewer {
	v := &fakeViewer{t: t, r: r, id: id, reliable: newFakeChannel(), unordered: newFakeChannel()}
	v.detach = r.Attach(Viewer{ID: id, Authenticated: authenticated, Reliable: v.reliable, Unordered: v.unordered})
	return v
}

// send hands the Router one message from this viewer.
func (v *fakeViewer) send(reliable bool, format string, args ...any) {
	v.r.Handle(v.id, reliable, fmt.Appendf(nil, format, args...))
}

// all decodes every message on a channel.
func all(t *testing.T, c *fakeChannel) []msg {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]msg, len(c.msgs))
	for i, b := range c.msgs {
		if err := json.Unmarshal(b, &out[i]); err != nil {
			t.Fatalf("camd sent invalid JSON %q: %v", b, err)
		}
		if out[i]["v"] != float64(Version) {
			t.Fatalf("camd sent %q without \"v\":%d", b, Version)
		}
	}
	return out
}

// next returns the next message on the reliable channel, waiting up to
// two seconds for it; it fails the test if it is not of type typ.
func (v *fakeViewer) next(typ string) msg {
	v.t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		ms := all(v.t, v.reliable)
		if v.read < len(ms) {
			m := ms[v.read]
			v.read++
			if m.str("type") != typ {
				v.t.Fatalf("%s got %v, want a %s", v.id, m, typ)
			}
			return m
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("%s: no %s within 2 s", v.id, typ)
		}
		select {
		case <-v.reliable.poke:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// none fails the test if the reliable channel has unread messages.
func (v *fakeViewer) none() {
	v.t.Helper()
	if ms := all(v.t, v.reliable); v.read < len(ms) {
		v.t.Fatalf("%s: unexpected %v", v.id, ms[v.read:])
	}
}

// hello says hello and reads the answers up to the lease state.
func (v *fakeViewer) hello(name string) msg {
	v.t.Helper()
	v.send(true, `{"v":1,"type":"hello","name":%q}`, name)
	w := v.next(TypeWelcome)
	v.next(TypeLeaseState)
	if w["hardware"].(map[string]any)["serial"] != nil {
		v.next(TypeSerialStatus)
	}
	return w
}

// fakePilot records what the Router asks of the drone.
type fakePilot struct {
	mu         sync.Mutex
	sticks     []tello.Stick
	releases   int
	calls      []string
	phase      tello.Phase
	err        error         // returned by Takeoff, Land and Emergency
	hold       chan struct{} // Takeoff and Land wait on it when not nil
	calledBack chan string
}

func newFakePilot() *fakePilot { return &fakePilot{calledBack: make(chan string, 16)} }

func (p *fakePilot) Stick(s tello.Stick) { p.mu.Lock(); p.sticks = append(p.sticks, s); p.mu.Unlock() }
func (p *fakePilot) Release()            { p.mu.Lock(); p.releases++; p.mu.Unlock() }
func (p *fakePilot) Phase() tello.Phase  { p.mu.Lock(); defer p.mu.Unlock(); return p.phase }
func (p *fakePilot) setPhase(ph tello.Phase) {
	p.mu.Lock()
	p.phase = ph
	p.mu.Unlock()
}

func (p *fakePilot) call(ctx context.Context, name string) error {
	p.mu.Lock()
	p.calls = append(p.calls, name)
	hold, err := p.hold, p.err
	p.mu.Unlock()
	p.calledBack <- name
	if hold != nil && name != "emergency" {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

func (p *fakePilot) Takeoff(ctx context.Context) error   { return p.call(ctx, "takeoff") }
func (p *fakePilot) Land(ctx context.Context) error      { return p.call(ctx, "land") }
func (p *fakePilot) Emergency(ctx context.Context) error { return p.call(ctx, "emergency") }

func (p *fakePilot) stats() ([]tello.Stick, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]tello.Stick(nil), p.sticks...), p.releases
}

// fakeSerial records what the Router writes to the serial port.
type fakeSerial struct {
	mu   sync.Mutex
	sent []string
	err  error
}

func (s *fakeSerial) Send(_ context.Context, p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.sent = append(s.sent, string(p))
	return nil
}

func (s *fakeSerial) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...)
}
