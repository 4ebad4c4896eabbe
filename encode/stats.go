package encode

import (
	"math"
	"sync/atomic"
	"time"
)

// PipelineStats counts what a Pipeline did since it was made.
type PipelineStats struct {
	FramesIn  uint64 // frames the source emitted
	Dropped   uint64 // frames the queue dropped because encoding fell behind
	Encoded   uint64 // access units handed to Out
	Skipped   uint64 // frames the encoder skipped (rate control)
	Errors    uint64 // frames the encoder failed on
	Restarts  uint64 // times a Restartable encoder was rebuilt after failing
	Keyframes uint64 // keyframes among the access units
	Bytes     uint64 // bytes of access units handed to Out

	// Encode times: of the last frame, the mean, and the 99th percentile
	// (to within 20 %: the upper edge of its histogram bucket).
	LastEncode, AvgEncode, P99Encode time.Duration
}

// Encode-time histogram: bucket 0 holds times under 1 µs, bucket i≥1 times
// in [2^((i-1)/4), 2^(i/4)) µs; the last bucket takes everything from about
// 1 s up.
const histBuckets = 82

type pipelineCounters struct {
	in, encoded, skipped, errors, keyframes, bytes atomic.Uint64
	restarts                                       atomic.Uint64
	dropped                                        atomic.Uint64 // by queues of finished runs
	last, total, n                                 atomic.Int64
	hist                                           [histBuckets]atomic.Uint64
}

func (c *pipelineCounters) observe(d time.Duration) {
	c.last.Store(int64(d))
	c.total.Add(int64(d))
	c.n.Add(1)
	c.hist[bucketOf(d)].Add(1)
}

func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us < 1 {
		return 0
	}
	return min(int(4*math.Log2(us))+1, histBuckets-1)
}

// bucketTop returns the upper edge of bucket i.
func bucketTop(i int) time.Duration {
	return time.Duration(math.Exp2(float64(i)/4) * float64(time.Microsecond))
}

// percentile returns the upper edge of the bucket holding the q-quantile.
func (c *pipelineCounters) percentile(q float64) time.Duration {
	var counts [histBuckets]uint64
	var n uint64
	for i := range c.hist {
		counts[i] = c.hist[i].Load()
		n += counts[i]
	}
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for i, k := range counts {
		seen += k
		if seen >= rank {
			return bucketTop(i)
		}
	}
	return bucketTop(histBuckets - 1)
}

func (c *pipelineCounters) snapshot() PipelineStats {
	s := PipelineStats{
		FramesIn:   c.in.Load(),
		Dropped:    c.dropped.Load(),
		Encoded:    c.encoded.Load(),
		Skipped:    c.skipped.Load(),
		Errors:     c.errors.Load(),
		Restarts:   c.restarts.Load(),
		Keyframes:  c.keyframes.Load(),
		Bytes:      c.bytes.Load(),
		LastEncode: time.Duration(c.last.Load()),
		P99Encode:  c.percentile(0.99),
	}
	if n := c.n.Load(); n > 0 {
		s.AvgEncode = time.Duration(c.total.Load() / n)
	}
	return s
}
