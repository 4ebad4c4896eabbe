package stream

import (
	"testing"
	"time"
)

// A new viewer's request is served within the join interval, even while a
// PLI's is folded into the longer KeyframeInterval; PLIs alone keep it.
func TestCoalescerJoinInterval(t *testing.T) {
	clk := newFakeClock()
	kf := &countingKeyframer{}
	c := newCoalescer(kf, 500*time.Millisecond, clk.Now, clk.AfterFunc).withJoin(100 * time.Millisecond)
	c.Request(ReasonPLI) // forced at once
	clk.Advance(20 * time.Millisecond)
	c.Request(ReasonPLI) // folded: due at 500 ms
	clk.Advance(20 * time.Millisecond)
	c.Request(ReasonNewViewer) // moves it to 100 ms
	clk.Advance(59 * time.Millisecond)
	if kf.count() != 1 {
		t.Fatalf("forced %d before the join interval ended, want 1", kf.count())
	}
	clk.Advance(time.Millisecond)
	if kf.count() != 2 {
		t.Fatalf("forced %d at the end of the join interval, want 2", kf.count())
	}
	clk.Advance(time.Second) // the PLI was served by that one: nothing more
	if kf.count() != 2 {
		t.Fatalf("forced %d, want 2", kf.count())
	}
	// Many joiners in a burst: one keyframe per join interval.
	for i := 0; i < 50; i++ {
		c.Request(ReasonNewViewer)
		clk.Advance(10 * time.Millisecond)
	}
	if n := kf.count() - 2; n < 4 || n > 6 {
		t.Fatalf("50 joiners over 500 ms forced %d keyframes, want 5 (one per 100 ms)", n)
	}
	c.Close()
}

// A viewer that arrives while the last keyframe is young starts on it at
// once, with the units since, and forces nothing; one that arrives later
// forces a keyframe and waits for it.
func TestHubJoinsOnCachedGOP(t *testing.T) {
	clk := newFakeClock()
	kf := &countingKeyframer{}
	h := NewHub(HubOptions{Keyframes: kf, QueueDepth: 4, JoinWindow: 150 * time.Millisecond, now: clk.Now, after: clk.AfterFunc})
	defer h.Close()
	first := h.Subscribe() // nothing cached yet: forces one
	if kf.count() != 1 {
		t.Fatalf("first viewer forced %d, want 1", kf.count())
	}
	seq := uint64(0)
	write := func(key bool) {
		h.Write(au(key, 300), key, clk.Now(), seq)
		seq++
		clk.Advance(33 * time.Millisecond)
	}
	write(true)  // 0
	write(false) // 1
	write(false) // 2
	late := h.Subscribe()
	if kf.count() != 1 {
		t.Fatalf("a viewer joining 99 ms after the keyframe forced one (%d)", kf.count())
	}
	var got []uint64
	for len(late.C()) > 0 {
		got = append(got, (<-late.C()).seq)
	}
	if len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Fatalf("joiner got %v at once, want [0 1 2] (the keyframe and the units since)", got)
	}
	write(false)           // 3: the GOP no longer fits a queue with room: dropped
	later := h.Subscribe() // 132 ms after the last forced one: due at 150 ms
	if kf.count() != 1 || len(later.C()) != 0 {
		t.Fatalf("a viewer joining after the window: %d forced, %d units queued; want 1 (so far) and 0", kf.count(), len(later.C()))
	}
	clk.Advance(18 * time.Millisecond)
	if kf.count() != 2 {
		t.Fatalf("forced %d at the end of the join interval, want 2", kf.count())
	}
	write(true) // 4
	if u := <-later.C(); u.seq != 4 || !u.keyframe {
		t.Fatalf("late joiner started on %d (keyframe %v), want the keyframe 4", u.seq, u.keyframe)
	}
	clk.Advance(200 * time.Millisecond) // keyframe 4 is too old now
	h.Subscribe()
	if kf.count() != 3 {
		t.Fatalf("joining 233 ms after the keyframe forced %d in all, want 3", kf.count())
	}
	if st := h.Stats(); st.JoinedCached != 1 || st.Keyframe.Requests[ReasonNewViewer] != 3 {
		t.Fatalf("stats: %d joined on the cached GOP, %d new-viewer requests; want 1 and 3", st.JoinedCached, st.Keyframe.Requests[ReasonNewViewer])
	}
	_ = first
}
