package v4l2

import (
	"time"
)

// Poll events, as in poll(2).
const (
	PollIn  = 0x1 // a capture buffer is done
	PollPri = 0x2 // an event is pending
	PollOut = 0x4 // an output buffer can be dequeued
	PollErr = 0x8 // the queue is in error, or not streaming
)

// Conn is an open device file: the operations a Device performs on it.
// OpenFile returns the real one; package v4l2test records and replays
// them. A Conn returns errors from the kernel as syscall.Errno values.
type Conn interface {
	// Ioctl performs request req. arg holds the argument struct's bytes
	// and receives the kernel's answer. For the requests whose argument
	// carries a pointer to an array (multi-planar buffers, extended
	// controls), that pointer already points at ext, which the kernel
	// reads and writes too; ext is nil for every other request. A real
	// file ignores ext; fakes use it with PointerOffset.
	Ioctl(req uint32, arg, ext []byte) error
	// Mmap maps length bytes of a buffer at offset, shared, read-write.
	Mmap(offset int64, length int) ([]byte, error)
	// Munmap unmaps what Mmap returned.
	Munmap(b []byte) error
	// Poll waits up to timeout (negative: forever) for any of events and
	// returns those that happened, 0 on timeout. It returns ErrInterrupted
	// if Interrupt is called before or during the wait.
	Poll(events int16, timeout time.Duration) (int16, error)
	// Interrupt makes the current or next Poll return ErrInterrupted. It
	// may be called from any goroutine.
	Interrupt()
	// Write writes a frame with write(2), for devices that take frames that
	// way (v4l2loopback's output side).
	Write(p []byte) (int, error)
	// CloseFD closes a file descriptor the device handed out (a DMABUF
	// from EXPBUF).
	CloseFD(fd int) error
	// Close closes the file. Mappings must be gone first.
	Close() error
}

// OpenFunc opens a device file by path. OpenFile is the real one.
type OpenFunc func(path string) (Conn, error)
