package capture

import (
	"context"
	"sync"
	"sync/atomic"
)

// Queue hands frames from a source to its consumer. Put never blocks: when
// the queue is full the oldest frame is released and counted as dropped,
// so a slow consumer always gets the newest frames and the source keeps
// its pace. Keep the depth small (1 to 3): every queued frame is latency.
//
// A Queue is safe for concurrent use by any number of goroutines.
type Queue struct {
	mu     sync.Mutex
	ring   []*Frame
	head   int // index of the oldest frame
	n      int // frames queued
	closed bool

	ready   chan struct{} // holds a token while frames may be waiting
	done    chan struct{} // closed by Close
	dropped atomic.Uint64
}

// NewQueue returns a queue that holds up to depth frames (at least 1).
func NewQueue(depth int) *Queue {
	return &Queue{
		ring:  make([]*Frame, max(depth, 1)),
		ready: make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
}

// Put queues f. If the queue is full it releases the oldest frame first;
// if the queue is closed it releases f.
func (q *Queue) Put(f *Frame) {
	if f == nil {
		return
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		f.Release()
		return
	}
	var old *Frame
	if q.n == len(q.ring) {
		old = q.ring[q.head]
		q.ring[q.head] = nil
		q.head = (q.head + 1) % len(q.ring)
		q.n--
	}
	q.ring[(q.head+q.n)%len(q.ring)] = f
	q.n++
	q.mu.Unlock()
	if old != nil {
		q.dropped.Add(1)
		old.Release()
	}
	q.signal()
}

func (q *Queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Get returns the oldest queued frame, waiting for one if the queue is
// empty. It returns ctx's error when ctx is done and ErrClosed once the
// queue is closed. The caller owns the frame and releases it.
func (q *Queue) Get(ctx context.Context) (*Frame, error) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return nil, ErrClosed
		}
		if q.n > 0 {
			f := q.ring[q.head]
			q.ring[q.head] = nil
			q.head = (q.head + 1) % len(q.ring)
			q.n--
			more := q.n > 0
			q.mu.Unlock()
			if more {
				q.signal() // for another waiting consumer
			}
			return f, nil
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-q.done:
		case <-q.ready:
		}
	}
}

// Len returns the number of frames waiting.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Dropped returns how many frames Put has released unread because the
// queue was full.
func (q *Queue) Dropped() uint64 { return q.dropped.Load() }

// Close releases the frames still queued and makes Get return ErrClosed.
// Frames Put after Close are released at once. Close may be called more
// than once.
func (q *Queue) Close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	var left []*Frame
	for ; q.n > 0; q.n-- {
		left = append(left, q.ring[q.head])
		q.ring[q.head] = nil
		q.head = (q.head + 1) % len(q.ring)
	}
	q.mu.Unlock()
	close(q.done)
	for _, f := range left {
		f.Release()
	}
}
