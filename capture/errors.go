package capture

import "errors"

var (
	// ErrClosed is returned by Queue.Get once the queue is closed.
	ErrClosed = errors.New("capture: closed")
	// ErrNotH264 says that a file or stream holds no H.264 Annex-B video.
	ErrNotH264 = errors.New("capture: not an H.264 Annex-B stream")
)
