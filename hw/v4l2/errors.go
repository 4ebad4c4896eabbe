package v4l2

import (
	"errors"
	"syscall"
)

var (
	// ErrUnsupported means V4L2 is not available on this operating
	// system: camd talks to cameras and hardware encoders on Linux only.
	ErrUnsupported = errors.New("v4l2: video devices need Linux")
	// ErrInterrupted means Wait returned because Interrupt was called.
	ErrInterrupted = errors.New("v4l2: wait interrupted")
	// ErrTimeout means Wait's timeout passed with the device not ready.
	ErrTimeout = errors.New("v4l2: timed out waiting for the device")
	// ErrClosed means the Device was used after Close.
	ErrClosed = errors.New("v4l2: device closed")
	// ErrNotFound means no device matched a name.
	ErrNotFound = errors.New("v4l2: no such video device")
	// ErrNoFormat means the device offers nothing usable for a request.
	ErrNoFormat = errors.New("v4l2: no matching format")
	// ErrBadArgument means a caller's argument the kernel would refuse
	// anyway (a buffer index out of range, too many planes).
	ErrBadArgument = errors.New("v4l2: bad argument")
)

// IsGone reports whether err says the device went away: unplugged
// (ENODEV, ENXIO), its node removed (ENOENT on open), or its queue put in
// the error state by the driver (EIO, which UVC does on disconnect). A
// caller that sees it closes the device and opens it again later.
func IsGone(err error) bool {
	return errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENXIO) ||
		errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EIO) ||
		errors.Is(err, syscall.ESHUTDOWN)
}

// IsAgain reports whether err says that no buffer or event was ready
// (EAGAIN from a non-blocking DQBUF or DQEVENT).
func IsAgain(err error) bool { return errors.Is(err, syscall.EAGAIN) }

// IsNotSupported reports whether the driver refused an ioctl, control or
// value as unknown or invalid (ENOTTY, EINVAL, ENOTSUP).
func IsNotSupported(err error) bool {
	return errors.Is(err, syscall.ENOTTY) || errors.Is(err, syscall.EINVAL) ||
		errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP)
}

// IoctlError is an ioctl that failed: the request's kernel name and the
// errno. It unwraps to the syscall.Errno.
type IoctlError struct {
	Path  string
	Req   uint32
	Errno syscall.Errno
}

func (e *IoctlError) Error() string {
	if e.Req == 0 {
		return e.Path + ": " + e.Errno.Error()
	}
	return e.Path + ": " + RequestName(e.Req) + ": " + e.Errno.Error()
}

func (e *IoctlError) Unwrap() error { return e.Errno }

// errAgain is what a non-blocking DQBUF or DQEVENT returns when nothing
// is ready; IsAgain is true for it.
var errAgain = &IoctlError{Path: "v4l2", Req: 0, Errno: syscall.EAGAIN}
