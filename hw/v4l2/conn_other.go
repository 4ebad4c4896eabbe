//go:build !linux

package v4l2

import "fmt"

// OpenFile returns ErrUnsupported: V4L2 exists on Linux only.
func OpenFile(path string) (Conn, error) {
	return nil, fmt.Errorf("open %s: %w", path, ErrUnsupported)
}
