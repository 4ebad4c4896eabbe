package v4l2

import (
	"fmt"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fileConn is a device file opened non-blocking, with an eventfd that
// Interrupt writes to so that a Poll in progress returns.
type fileConn struct {
	fd   int
	wake int

	mu     sync.Mutex
	closed bool
}

// OpenFile opens a device file read-write and non-blocking.
func OpenFile(path string) (Conn, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w%s", path, err, permissionHint(err))
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	return &fileConn{fd: fd, wake: wake}, nil
}

func permissionHint(err error) string {
	if err == unix.EACCES || err == unix.EPERM {
		return " (add the user running camd to the video group)"
	}
	return ""
}

func (c *fileConn) Ioctl(req uint32, arg, _ []byte) error {
	var p unsafe.Pointer
	if len(arg) > 0 {
		p = unsafe.Pointer(&arg[0])
	}
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(c.fd), uintptr(req), uintptr(p))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return errno
		}
		return nil
	}
}

func (c *fileConn) Mmap(offset int64, length int) ([]byte, error) {
	b, err := unix.Mmap(c.fd, offset, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (c *fileConn) Munmap(b []byte) error { return unix.Munmap(b) }

func (c *fileConn) Poll(events int16, timeout time.Duration) (int16, error) {
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	fds := [2]unix.PollFd{{Fd: int32(c.fd), Events: toPoll(events)}, {Fd: int32(c.wake), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds[:], ms)
		if err == unix.EINTR {
			continue // the deadline restarts: waits are short and rare
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, nil
		}
		if fds[1].Revents&unix.POLLIN != 0 {
			var buf [8]byte
			unix.Read(c.wake, buf[:]) // reset the eventfd's counter
			return 0, ErrInterrupted
		}
		if fds[0].Revents&unix.POLLNVAL != 0 {
			return 0, syscall.EBADF
		}
		return fromPoll(fds[0].Revents), nil
	}
}

func toPoll(e int16) int16 {
	var p int16
	if e&PollIn != 0 {
		p |= unix.POLLIN
	}
	if e&PollOut != 0 {
		p |= unix.POLLOUT
	}
	if e&PollPri != 0 {
		p |= unix.POLLPRI
	}
	return p
}

func fromPoll(p int16) int16 {
	var e int16
	if p&unix.POLLIN != 0 {
		e |= PollIn
	}
	if p&unix.POLLOUT != 0 {
		e |= PollOut
	}
	if p&unix.POLLPRI != 0 {
		e |= PollPri
	}
	if p&(unix.POLLERR|unix.POLLHUP) != 0 {
		e |= PollErr
	}
	return e
}

func (c *fileConn) Interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	one := [8]byte{1}
	unix.Write(c.wake, one[:])
}

func (c *fileConn) Write(p []byte) (int, error) {
	for {
		n, err := unix.Write(c.fd, p)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

func (c *fileConn) CloseFD(fd int) error { return unix.Close(fd) }

func (c *fileConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	unix.Close(c.wake)
	return unix.Close(c.fd)
}
