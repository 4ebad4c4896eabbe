package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// fakeClock hands every After to the test, which decides when it fires.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan fakeWait
}

type fakeWait struct {
	d  time.Duration
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1_700_000_000, 0), waits: make(chan fakeWait, 16)}
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.waits <- fakeWait{d, ch}
	return ch
}

// next waits for the Bridge to sleep, moves the clock over the sleep and
// wakes it; it returns how long the Bridge asked to sleep.
func (c *fakeClock) next(t *testing.T) time.Duration {
	t.Helper()
	select {
	case w := <-c.waits:
		c.mu.Lock()
		c.now = c.now.Add(w.d)
		now := c.now
		c.mu.Unlock()
		w.ch <- now
		return w.d
	case <-time.After(5 * time.Second):
		t.Fatal("the bridge did not wait")
		return 0
	}
}

func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// fakePort is a port in memory: the test feeds reads, collects writes and
// can make it fail (unplug) or stall writes.
type fakePort struct {
	reads  chan []byte
	closed chan struct{}
	once   sync.Once
	stall  chan struct{} // writes wait on it when not nil
	mu     sync.Mutex
	wrote  []byte
}

func newFakePort() *fakePort {
	return &fakePort{reads: make(chan []byte, 16), closed: make(chan struct{})}
}

func (p *fakePort) Read(b []byte) (int, error) {
	select {
	case r := <-p.reads:
		return copy(b, r), nil
	case <-p.closed:
		return 0, io.ErrClosedPipe
	}
}

func (p *fakePort) Write(b []byte) (int, error) {
	if p.stall != nil {
		select {
		case <-p.stall:
		case <-p.closed:
			return 0, io.ErrClosedPipe
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wrote = append(p.wrote, b...)
	return len(b), nil
}

func (p *fakePort) Close() error { p.once.Do(func() { close(p.closed) }); return nil }

func TestBridgeBacksOffAndReconnects(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock()
	rec := newRecorder()
	var mu sync.Mutex
	fails, opens := 0, []*fakePort{}
	open := func(c Config) (Port, string, error) {
		mu.Lock()
		defer mu.Unlock()
		if fails > 0 {
			fails--
			return nil, "", fmt.Errorf("open %s: no such file or directory", c.Path)
		}
		p := newFakePort()
		opens = append(opens, p)
		return p, c.Path, nil
	}
	fails = 7
	b, err := NewBridge(BridgeOptions{Port: Config{Path: "/dev/ttyUSB9"}, Open: open, Clock: clk,
		OnStatus: rec.onStatus, OnData: rec.onData})
	if err != nil {
		t.Fatal(err)
	}
	runBridge(t, b)

	var waits []time.Duration
	for range 7 {
		waits = append(waits, clk.next(t))
	}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Fatalf("backoff %v, want %v", waits, want)
	}
	rec.waitFor(t, "connected", 5*time.Second, connected(rec))
	rec.mu.Lock()
	if len(rec.status) != 2 || rec.status[0].Connected || rec.status[0].Err == nil || rec.status[0].Attempts != 1 {
		t.Fatalf("status reports %+v: want one for the failing opens (the same error seven times), one for the open", rec.status)
	}
	rec.mu.Unlock()
	if st := b.Status(); st.Attempts != 0 || st.Path != "/dev/ttyUSB9" {
		t.Fatalf("status after open %+v", st)
	}

	// Unplugged after a short time: the backoff keeps growing, so a port
	// that opens and fails at once is not hammered.
	mu.Lock()
	first := opens[0]
	fails = 1
	mu.Unlock()
	first.reads <- []byte("data")
	rec.waitFor(t, "data", 5*time.Second, func() bool { return string(rec.joined()) == "data" })
	first.Close()
	if d := clk.next(t); d != 5*time.Second {
		t.Fatalf("wait after a short connection %v, want 5s", d)
	}
	if d := clk.next(t); d != 5*time.Second { // the one failed open
		t.Fatalf("wait %v, want 5s", d)
	}
	rec.waitFor(t, "reconnected", 5*time.Second, connected(rec))

	// Up for longer than MaxBackoff: the next reconnection starts fast.
	clk.advance(time.Minute)
	mu.Lock()
	second := opens[1]
	mu.Unlock()
	second.Close()
	if d := clk.next(t); d != 100*time.Millisecond {
		t.Fatalf("wait after a long connection %v, want 100ms", d)
	}
	rec.waitFor(t, "reconnected again", 5*time.Second, connected(rec))
}

func TestBridgeBusyAndDisconnectedWrites(t *testing.T) {
	checkGoroutines(t)
	port := newFakePort()
	port.stall = make(chan struct{})
	rec := newRecorder()
	b, err := NewBridge(BridgeOptions{Port: Config{Path: "/dev/ttyACM0"}, WriteQueue: 2, OnStatus: rec.onStatus,
		Open: func(c Config) (Port, string, error) { return port, c.Path, nil }, Clock: newFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	runBridge(t, b)
	rec.waitFor(t, "connected", 5*time.Second, connected(rec))

	// One write stalls in the port, two wait in the queue, the next is
	// refused at once.
	results := make(chan error, 3)
	for i := range 3 {
		go func() { results <- b.Send(context.Background(), []byte{'a' + byte(i)}) }()
		time.Sleep(20 * time.Millisecond) // in order
	}
	if err := b.Send(context.Background(), []byte("d")); !errors.Is(err, ErrBusy) {
		t.Fatalf("fourth Send: %v, want ErrBusy", err)
	}
	close(port.stall)
	for range 3 {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	port.mu.Lock()
	if string(port.wrote) != "abc" {
		t.Fatalf("port got %q", port.wrote)
	}
	port.mu.Unlock()
	if s := b.Stats(); s.WritesRefused != 1 || s.BytesOut != 3 {
		t.Fatalf("stats %+v", s)
	}
}
