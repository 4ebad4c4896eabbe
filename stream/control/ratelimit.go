package control

import "time"

// MaxRate is how many messages a second a viewer may send, on both
// channels together, and Burst how many it may send at once above that.
// The page sends sticks at StickHz and a ping a second; a person's
// commands add a few more. Beyond the rate camd drops messages unread and
// says so (CodeRateLimited, at most once a second), so a runaway or
// hostile page cannot keep the router, the drone or the serial port busy.
const (
	MaxRate = 3 * StickHz
	Burst   = 2 * MaxRate
)

// bucket is a token bucket: it holds up to Burst tokens and gains MaxRate
// a second; a message takes one.
type bucket struct {
	tokens float64
	last   time.Time
}

// take reports whether a message may pass at now.
func (b *bucket) take(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens = Burst
	} else if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = min(Burst, b.tokens+d*MaxRate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
