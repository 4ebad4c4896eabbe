package tello

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/camd-project/camd/hw/tello/tellosim"
)

// loopback is the ListenPacket of every test: whatever address the client
// asks for, it gets a socket on 127.0.0.1, and writes anywhere else fail,
// so no test can reach a real drone.
func loopback(network, addr string) (net.PacketConn, error) {
	pc, err := net.ListenPacket(network, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return loopbackConn{pc}, nil
}

type loopbackConn struct{ net.PacketConn }

func (c loopbackConn) WriteTo(b []byte, to net.Addr) (int, error) {
	if ua, ok := to.(*net.UDPAddr); !ok || !ua.IP.IsLoopback() {
		return 0, fmt.Errorf("test tried to send to %v", to)
	}
	return c.PacketConn.WriteTo(b, to)
}

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
				t.Errorf("goroutines: %d after Close, %d before. Still running:\n%s", runtime.NumGoroutine(), before, b.String())
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// startSim starts a simulator and a Drone dialled to it, both closed at the
// end of the test. The Drone's telemetry and video sockets are opened first
// and handed to it through ListenPacket, so the simulator knows from the
// start where to send.
func startSim(t *testing.T, so tellosim.Options, o Options) (*tellosim.Sim, *Drone) {
	t.Helper()
	if so.StateInterval == 0 {
		so.StateInterval = 20 * time.Millisecond
	}
	state, err := loopback("udp", "")
	if err != nil {
		t.Fatal(err)
	}
	video, err := loopback("udp", "")
	if err != nil {
		t.Fatal(err)
	}
	so.StateTo, so.VideoTo = state.LocalAddr().String(), video.LocalAddr().String()
	sim, err := tellosim.Start(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	o.Addr = sim.Addr().String()
	o.StateAddr, o.VideoAddr = ":8890", ":11111"
	o.ListenPacket = func(network, addr string) (net.PacketConn, error) {
		switch addr {
		case ":8890":
			return state, nil
		case ":11111":
			return video, nil
		}
		return loopback(network, addr)
	}
	if o.CommandTimeout == 0 {
		o.CommandTimeout = 200 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := Dial(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return sim, d
}

// fakeClock is a Clock that moves only when told.
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

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
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

func (c *fakeClock) NewTicker(d time.Duration) Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTicker{c: c, ch: make(chan time.Time, 1), period: d, next: c.now.Add(d)}
	c.tickers = append(c.tickers, t)
	return t
}

func (t *fakeTicker) C() <-chan time.Time { return t.ch }

func (t *fakeTicker) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.stopped = true
}

// Advance moves the clock on by d, running due timers and sending due ticks
// (dropped if the last one is unread, as time.Ticker does).
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.now) {
			t.stopped = true
			due = append(due, t.f)
		}
	}
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
	for _, f := range due {
		f()
	}
}
