package capture_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camd-project/camd/capture"
)

// counted makes frames that count their releases.
type counted struct {
	releases []atomic.Int32
}

func newCounted(n int) *counted { return &counted{releases: make([]atomic.Int32, n)} }

func (c *counted) frame(i int) *capture.Frame {
	return &capture.Frame{Seq: uint64(i), OnRelease: func() { c.releases[i].Add(1) }}
}

func (c *counted) checkOnce(t *testing.T) {
	t.Helper()
	for i := range c.releases {
		if n := c.releases[i].Load(); n != 1 {
			t.Errorf("frame %d released %d times, want 1", i, n)
		}
	}
}

func TestQueueDropsOldest(t *testing.T) {
	q := capture.NewQueue(2)
	c := newCounted(10)
	for i := range 10 {
		q.Put(c.frame(i))
	}
	if got := q.Dropped(); got != 8 {
		t.Errorf("Dropped = %d, want 8", got)
	}
	if q.Len() != 2 {
		t.Errorf("Len = %d, want 2", q.Len())
	}
	for want := uint64(8); want < 10; want++ {
		f, err := q.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if f.Seq != want {
			t.Errorf("Get returned frame %d, want %d (the newest, in order)", f.Seq, want)
		}
		f.Release()
	}
	c.checkOnce(t)
}

func TestQueueClose(t *testing.T) {
	q := capture.NewQueue(3)
	c := newCounted(4)
	q.Put(c.frame(0))
	q.Put(c.frame(1))
	done := make(chan error)
	q2 := capture.NewQueue(1)
	go func() {
		_, err := q2.Get(context.Background())
		done <- err
	}()
	q.Close()
	q.Close()
	q.Put(c.frame(2)) // released at once
	if _, err := q.Get(context.Background()); !errors.Is(err, capture.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	q2.Close()
	select {
	case err := <-done:
		if !errors.Is(err, capture.ErrClosed) {
			t.Errorf("waiting Get: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake a waiting Get")
	}
	c.releases[3].Store(1) // never queued
	c.checkOnce(t)
	if q.Dropped() != 0 {
		t.Errorf("Dropped = %d; frames released by Close are not drops", q.Dropped())
	}
}

func TestQueueContext(t *testing.T) {
	q := capture.NewQueue(1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	if _, err := q.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context: %v", err)
	}
}

func TestQueueDepthAtLeastOne(t *testing.T) {
	q := capture.NewQueue(0)
	c := newCounted(2)
	q.Put(nil) // ignored
	q.Put(c.frame(0))
	q.Put(c.frame(1))
	if q.Dropped() != 1 || q.Len() != 1 {
		t.Errorf("depth 0: dropped %d, len %d; want 1, 1", q.Dropped(), q.Len())
	}
	q.Close()
	c.checkOnce(t)
}

// A producer that never waits and a consumer slower than it: the consumer
// sees frames in order, the rest are dropped, and every frame is released
// exactly once.
func TestQueueSlowConsumer(t *testing.T) {
	const total = 5000
	q := capture.NewQueue(2)
	c := newCounted(total)
	var got []uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			f, err := q.Get(context.Background())
			if err != nil {
				return
			}
			got = append(got, f.Seq)
			for range 2000 { // slow work
				_ = f.Seq * 3
			}
			time.Sleep(time.Duration(len(got)%3) * time.Microsecond)
			f.Release()
		}
	}()
	for i := range total {
		q.Put(c.frame(i))
	}
	// Let the consumer drain what is left, then close.
	for q.Len() > 0 {
		time.Sleep(time.Millisecond)
	}
	q.Close()
	wg.Wait()
	c.checkOnce(t)
	if uint64(len(got))+q.Dropped() != total {
		t.Errorf("consumed %d + dropped %d != %d", len(got), q.Dropped(), total)
	}
	if q.Dropped() == 0 {
		t.Error("a consumer slower than the producer dropped nothing")
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("frames out of order: %d after %d", got[i], got[i-1])
		}
	}
	if got[len(got)-1] != total-1 {
		t.Errorf("last frame consumed %d, want the newest, %d", got[len(got)-1], total-1)
	}
}

func BenchmarkQueue(b *testing.B) {
	q := capture.NewQueue(2)
	f := &capture.Frame{}
	ctx := context.Background()
	for b.Loop() {
		q.Put(f)
		if _, err := q.Get(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
