package main

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/camd-project/camd/hw/v4l2"
)

// faultOpener opens real devices and makes one ioctl fail with EIO when
// armed, as a driver does when its hardware falls over.
type faultOpener struct {
	open  v4l2.OpenFunc
	req   uint32 // the request to fail
	armed atomic.Bool

	mu    sync.Mutex
	fired int
}

func (f *faultOpener) Open(path string) (v4l2.Conn, error) {
	c, err := f.open(path)
	if err != nil {
		return nil, err
	}
	return &faultConn{Conn: c, f: f}, nil
}

// Fired returns how many faults were injected.
func (f *faultOpener) Fired() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fired
}

type faultConn struct {
	v4l2.Conn
	f *faultOpener
}

func (c *faultConn) Ioctl(req uint32, arg, ext []byte) error {
	if req == c.f.req && c.f.armed.CompareAndSwap(true, false) {
		c.f.mu.Lock()
		c.f.fired++
		c.f.mu.Unlock()
		return syscall.EIO
	}
	return c.Conn.Ioctl(req, arg, ext)
}

func (c *faultConn) Poll(events int16, timeout time.Duration) (int16, error) {
	return c.Conn.Poll(events, timeout)
}
