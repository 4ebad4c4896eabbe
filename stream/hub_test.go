package stream

import (
	"sync"
	"testing"
	"time"

	"github.com/camd-project/camd/stream/streamtest"
)

// fakeClock drives the coalescer's timers by hand.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.t.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves time on and runs the timers that came due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	var due []*fakeTimer
	rest := c.timers[:0]
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.t) {
			t.stopped = true
			due = append(due, t)
		} else if !t.stopped {
			rest = append(rest, t)
		}
	}
	c.timers = rest
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

type countingKeyframer struct {
	mu sync.Mutex
	n  int
}

func (k *countingKeyframer) ForceKeyframe() { k.mu.Lock(); k.n++; k.mu.Unlock() }
func (k *countingKeyframer) count() int     { k.mu.Lock(); defer k.mu.Unlock(); return k.n }

func TestCoalescerFoldsBursts(t *testing.T) {
	clk := newFakeClock()
	kf := &countingKeyframer{}
	c := newCoalescer(kf, 500*time.Millisecond, clk.Now, clk.AfterFunc)

	c.Request(ReasonNewViewer)
	if kf.count() != 1 {
		t.Fatalf("first request in a quiet period: forced %d, want 1 at once", kf.count())
	}
	for i := 0; i < 10; i++ {
		c.Request(ReasonPLI)
		clk.Advance(10 * time.Millisecond)
	}
	if kf.count() != 1 {
		t.Fatalf("burst inside the interval forced %d, want still 1", kf.count())
	}
	clk.Advance(400 * time.Millisecond) // 500 ms after the first
	if kf.count() != 2 {
		t.Fatalf("folded burst: forced %d, want 2 once the interval ended", kf.count())
	}
	clk.Advance(2 * time.Second)
	if kf.count() != 2 {
		t.Fatalf("no requests: forced %d, want 2", kf.count())
	}
	c.Request(ReasonFIR)
	if kf.count() != 3 {
		t.Fatalf("request after a quiet period: forced %d, want 3", kf.count())
	}
	st := c.Stats()
	if st.Requests[ReasonPLI] != 10 || st.Requests[ReasonNewViewer] != 1 || st.Requests[ReasonFIR] != 1 || st.Forced != 3 {
		t.Fatalf("stats = %+v", st)
	}
	c.Request(ReasonPLI) // scheduled, then cancelled by Close
	c.Close()
	clk.Advance(time.Second)
	if kf.count() != 3 {
		t.Fatalf("closed coalescer still forced a keyframe")
	}
}

// au builds a fake Annex-B access unit; keyframes carry SPS and PPS.
func au(keyframe bool, size int) []byte { return streamtest.AccessUnit(keyframe, size) }

func newTestHub(kf KeyframeRequester, clk *fakeClock, depth int) *Hub {
	return NewHub(HubOptions{Keyframes: kf, QueueDepth: depth, now: clk.Now, after: clk.AfterFunc})
}

func TestHubNewViewerStartsOnKeyframe(t *testing.T) {
	clk := newFakeClock()
	kf := &countingKeyframer{}
	h := newTestHub(kf, clk, 4)
	defer h.Close()

	s := h.Subscribe()
	if kf.count() != 1 {
		t.Fatalf("new viewer forced %d keyframes, want 1", kf.count())
	}
	h.Write(au(false, 100), false, clk.Now(), 0)
	h.Write(au(false, 100), false, clk.Now(), 1)
	h.Write(au(true, 3000), true, clk.Now(), 2)
	h.Write(au(false, 100), false, clk.Now(), 3)

	u := <-s.C()
	if !u.keyframe || u.seq != 2 {
		t.Fatalf("first unit: keyframe=%v seq=%d, want the keyframe (seq 2)", u.keyframe, u.seq)
	}
	if len(u.payloads) < 3 {
		t.Fatalf("a 3000-byte IDR gave %d RTP payloads, want it fragmented at the MTU", len(u.payloads))
	}
	for _, p := range u.payloads {
		if len(p) > 1200 {
			t.Fatalf("payload of %d bytes exceeds the MTU", len(p))
		}
	}
	if u = <-s.C(); u.seq != 3 {
		t.Fatalf("second unit seq=%d, want 3", u.seq)
	}
	if st := s.Stats(); st.Skipped != 2 || st.Delivered != 2 || st.Dropped != 0 {
		t.Fatalf("stats %+v, want 2 skipped, 2 delivered", st)
	}
}

func TestHubSlowViewerDropsAndResumesOnKeyframe(t *testing.T) {
	clk := newFakeClock()
	kf := &countingKeyframer{}
	h := newTestHub(kf, clk, 2)
	defer h.Close()

	slow, fast := h.Subscribe(), h.Subscribe()
	var fastGot []uint64
	seq := uint64(0)
	write := func(key bool) {
		h.Write(au(key, 200), key, clk.Now(), seq)
		seq++
		// The fast viewer keeps up; the slow one reads nothing.
		for {
			select {
			case u := <-fast.C():
				fastGot = append(fastGot, u.seq)
				continue
			default:
			}
			break
		}
		clk.Advance(33 * time.Millisecond)
	}
	write(true) // 0: both start here
	for i := 0; i < 5; i++ {
		write(false) // 1..5: slow fills its queue of 2 at 1, drops from 2 on
	}
	clk.Advance(time.Second) // let a folded request fire
	if st := h.Stats().Keyframe; st.Requests[ReasonDrop] != 1 || kf.count() < 2 {
		t.Fatalf("slow viewer's drop: %d requests, %d forced; want 1 request (asked once per gap) and a forced keyframe", st.Requests[ReasonDrop], kf.count())
	}
	if st := slow.Stats(); st.Dropped == 0 {
		t.Fatalf("slow viewer dropped nothing: %+v", st)
	}

	// The slow viewer drains what it had: the units before the drop.
	var slowGot []uint64
	for len(slow.C()) > 0 {
		slowGot = append(slowGot, (<-slow.C()).seq)
	}
	if len(slowGot) != 2 || slowGot[0] != 0 || slowGot[1] != 1 {
		t.Fatalf("slow viewer kept %v, want [0 1]", slowGot)
	}
	write(false) // 6: slow must not take a P-frame after its gap
	if len(slow.C()) != 0 {
		t.Fatalf("slow viewer got a non-keyframe after dropping")
	}
	write(true) // 7: resumes here
	write(false)
	if u := <-slow.C(); !u.keyframe || u.seq != 7 {
		t.Fatalf("slow viewer resumed on seq %d keyframe=%v, want the keyframe 7", u.seq, u.keyframe)
	}
	if u := <-slow.C(); u.seq != 8 {
		t.Fatalf("after the keyframe got seq %d, want 8", u.seq)
	}

	// The fast viewer saw every unit, in order.
	for i, s := range fastGot {
		if s != uint64(i) {
			t.Fatalf("fast viewer got %v, want 0..%d in order", fastGot, len(fastGot)-1)
		}
	}
	if len(fastGot) != int(seq) {
		t.Fatalf("fast viewer got %d units, want %d", len(fastGot), seq)
	}
	if st := fast.Stats(); st.Dropped != 0 {
		t.Fatalf("fast viewer dropped %d", st.Dropped)
	}
}

func TestHubCloseEndsSubscribers(t *testing.T) {
	clk := newFakeClock()
	h := newTestHub(nil, clk, 2)
	a, b := h.Subscribe(), h.Subscribe()
	a.Close()
	if _, ok := <-a.C(); ok {
		t.Fatal("closed subscriber's channel still open")
	}
	if h.Viewers() != 1 {
		t.Fatalf("viewers = %d, want 1", h.Viewers())
	}
	h.Close()
	if _, ok := <-b.C(); ok {
		t.Fatal("hub Close left a subscriber's channel open")
	}
	b.Close() // idempotent
	h.Write(au(true, 10), true, clk.Now(), 0)
}
