package mdns

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that moves only when the test says so.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c  *fakeClock
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	i := slices.Index(t.c.timers, t)
	if i < 0 {
		return false
	}
	t.c.timers = slices.Delete(t.c.timers, i, i+1)
	return true
}

// advanceTo moves the clock to at and fires the timers due by then.
func (c *fakeClock) advanceTo(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at.After(c.now) {
		c.now = at
	}
	c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool {
		if t.at.After(c.now) {
			return false
		}
		t.ch <- c.now
		return true
	})
}

// armed returns the number of pending timers and the earliest deadline.
func (c *fakeClock) armed() (int, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first time.Time
	for i, t := range c.timers {
		if i == 0 || t.at.Before(first) {
			first = t.at
		}
	}
	return len(c.timers), first
}

// memNet is an in-memory link: multicast reaches every endpoint that
// joined (the sender too, like IP_MULTICAST_LOOP), unicast reaches the
// endpoint owning the address and port.
type memNet struct {
	mu  sync.Mutex
	eps []*memEP
}

type memEP struct {
	net    *memNet
	addrs  []netip.Addr
	port   uint16
	in     chan Packet
	closed chan struct{}
	once   sync.Once

	mu                  sync.Mutex
	joined, outstanding bool
	delivered, consumed int
}

func (n *memNet) endpoint(port uint16, addrs ...string) *memEP {
	e := &memEP{net: n, port: port, in: make(chan Packet, 1024), closed: make(chan struct{})}
	for _, a := range addrs {
		e.addrs = append(e.addrs, netip.MustParseAddr(a))
	}
	n.mu.Lock()
	n.eps = append(n.eps, e)
	n.mu.Unlock()
	return e
}

func (e *memEP) Read() (Packet, error) {
	e.mu.Lock()
	if e.outstanding {
		e.consumed++
		e.outstanding = false
	}
	e.mu.Unlock()
	select {
	case p := <-e.in:
		e.mu.Lock()
		e.outstanding = true
		e.mu.Unlock()
		return p, nil
	case <-e.closed:
		return Packet{}, errClosed
	}
}

func (e *memEP) Write(b []byte, dst netip.AddrPort, ifIndex int) error {
	select {
	case <-e.closed:
		return errClosed
	default:
	}
	if ifIndex != 1 {
		return errors.New("memnet: no such interface")
	}
	var src netip.Addr
	for _, a := range e.addrs {
		if a.Is4() == dst.Addr().Is4() {
			src = a
			break
		}
	}
	if !src.IsValid() {
		return errors.New("memnet: no source address of that family")
	}
	p := Packet{Data: slices.Clone(b), Src: netip.AddrPortFrom(src, e.port), Dst: dst.Addr(), IfIndex: 1}
	e.net.mu.Lock()
	eps := slices.Clone(e.net.eps)
	e.net.mu.Unlock()
	for _, o := range eps {
		o.mu.Lock()
		hit := (dst.Addr().IsMulticast() && o.joined) ||
			(slices.Contains(o.addrs, dst.Addr()) && o.port == dst.Port())
		o.mu.Unlock()
		if hit {
			o.deliver(p)
		}
	}
	return nil
}

func (e *memEP) deliver(p Packet) {
	select {
	case <-e.closed:
		return
	default:
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case e.in <- p:
		e.delivered++
	default: // a full queue drops, like UDP
	}
}

// idle reports whether every delivered packet was read and handled.
func (e *memEP) idle() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.closed:
		return true
	default:
	}
	return e.delivered == e.consumed
}

func (e *memEP) Join(Interface) error {
	e.mu.Lock()
	e.joined = true
	e.mu.Unlock()
	return nil
}

func (e *memEP) Close() error {
	e.once.Do(func() { close(e.closed) })
	return nil
}

// recv returns the next packet an observer endpoint got, parsed.
func (e *memEP) recv(t *testing.T) (Packet, message) {
	t.Helper()
	select {
	case p := <-e.in:
		m, err := parseMessage(p.Data)
		if err != nil {
			t.Fatalf("parseMessage: %v", err)
		}
		return p, m
	case <-time.After(5 * time.Second):
		t.Fatal("no packet within 5 s")
	}
	panic("unreachable")
}

// drain returns the packets already queued at an observer endpoint.
func (e *memEP) drain(t *testing.T) []message {
	t.Helper()
	var out []message
	for {
		select {
		case p := <-e.in:
			m, err := parseMessage(p.Data)
			if err != nil {
				t.Fatalf("parseMessage: %v", err)
			}
			out = append(out, m)
		default:
			return out
		}
	}
}

// send packs and sends a message from an observer endpoint.
func (e *memEP) send(t *testing.T, dst netip.AddrPort, m message) {
	t.Helper()
	b, err := packMessage(m.Header, m.Questions, m.Answers, m.Authorities, m.Additionals)
	if err != nil {
		t.Fatalf("packMessage: %v", err)
	}
	if err := e.Write(b, dst, 1); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// received is a packet an observer got, parsed.
type received struct {
	p Packet
	m message
}

// responses returns the responses queued at an observer endpoint,
// dropping queries (such as its own, looped back).
func (e *memEP) responses(t *testing.T) []received {
	t.Helper()
	var out []received
	for {
		select {
		case p := <-e.in:
			m, err := parseMessage(p.Data)
			if err != nil {
				t.Fatalf("parseMessage: %v", err)
			}
			if m.Header.Response {
				out = append(out, received{p, m})
			}
		default:
			return out
		}
	}
}

// one returns the single response queued at an observer endpoint.
func (e *memEP) one(t *testing.T) (Packet, message) {
	t.Helper()
	rs := e.responses(t)
	if len(rs) != 1 {
		t.Fatalf("got %d responses, want 1: %+v", len(rs), rs)
	}
	return rs[0].p, rs[0].m
}
