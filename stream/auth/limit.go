package auth

import (
	"net/netip"
	"sync"
	"time"
)

// limiter counts failed attempts per source: each source has a bucket of
// Burst tries that refills by one every Refill. An empty bucket refuses the
// source until it refills, whatever it sends, so a guesser gets Burst tries
// and then one per Refill. The table is capped: when it is full, buckets
// that have refilled are dropped first, then the one that failed longest
// ago.
type limiter struct {
	burst  float64
	refill time.Duration
	max    int
	now    func() time.Time

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
	last   time.Time // the latest failure
	warned bool      // the refusal was logged
}

func newLimiter(burst int, refill time.Duration, max int, now func() time.Time) *limiter {
	return &limiter{burst: float64(burst), refill: refill, max: max, now: now, buckets: make(map[netip.Addr]*bucket)}
}

// source keys an address: IPv6 by its /64, which one host usually owns
// whole, so a guesser cannot walk through fresh addresses.
func source(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// level brings b up to now.
func (l *limiter) level(b *bucket, now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = min(l.burst, b.tokens+float64(el)/float64(l.refill))
		b.at = now
	}
	if b.tokens >= 1 {
		b.warned = false
	}
}

// blocked reports how long a is refused for, or 0.
func (l *limiter) blocked(a netip.Addr) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[source(a)]
	if b == nil {
		return 0
	}
	now := l.now()
	l.level(b, now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(l.refill))
}

// fail takes a try from a's bucket. It reports whether this failure
// emptied the bucket (the first refusal, which is worth a log line).
func (l *limiter) fail(a netip.Addr) (emptied bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, now := source(a), l.now()
	b := l.buckets[k]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[k] = b
	}
	l.level(b, now)
	b.tokens = max(0, b.tokens-1)
	b.last = now
	if b.tokens < 1 && !b.warned {
		b.warned = true
		return true
	}
	return false
}

// evict makes room for one bucket.
func (l *limiter) evict(now time.Time) {
	var oldest netip.Addr
	var oldestAt time.Time
	for k, b := range l.buckets {
		l.level(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
			continue
		}
		if oldestAt.IsZero() || b.last.Before(oldestAt) {
			oldest, oldestAt = k, b.last
		}
	}
	if len(l.buckets) >= l.max {
		delete(l.buckets, oldest)
	}
}

func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
