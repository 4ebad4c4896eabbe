//go:build !linux

package v4l2

import "time"

// MonotonicNow returns 0: there are no V4L2 timestamps to compare with.
func MonotonicNow() time.Duration { return 0 }
