package v4l2test

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/camd-project/camd/hw/v4l2"
)

// Recorder records what is done to the files opened through Open.
type Recorder struct {
	open v4l2.OpenFunc

	mu sync.Mutex
	ex Exchange
}

// NewRecorder returns a Recorder that opens files with open (v4l2.OpenFile
// for real devices). note describes the recording (device, kernel).
func NewRecorder(open v4l2.OpenFunc, note string) *Recorder {
	return &Recorder{open: open, ex: Exchange{PointerSize: v4l2.PointerSize, Note: note}}
}

// Open opens path with the real OpenFunc and records the file's exchange.
// It is a v4l2.OpenFunc.
func (r *Recorder) Open(path string) (v4l2.Conn, error) {
	conn, err := r.open(path)
	f := &File{Path: path}
	r.mu.Lock()
	r.ex.Files = append(r.ex.Files, f)
	r.mu.Unlock()
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			r.mu.Lock()
			f.OpenErrno = int(errno)
			r.mu.Unlock()
		}
		return nil, err
	}
	return &recConn{r: r, f: f, conn: conn, maps: map[int64][]byte{}}, nil
}

// Exchange returns what was recorded so far. Close the files first.
func (r *Recorder) Exchange() *Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	ex := r.ex
	ex.Files = append([]*File(nil), r.ex.Files...)
	return &ex
}

type recConn struct {
	r    *Recorder
	f    *File
	conn v4l2.Conn
	maps map[int64][]byte // by mmap offset, to read what DQBUF says the driver wrote
}

func (c *recConn) add(op Op) {
	c.r.mu.Lock()
	c.f.Ops = append(c.f.Ops, op)
	c.r.mu.Unlock()
}

func errnoOf(err error) int {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return int(errno)
	}
	return 0
}

// withoutPointer copies b with the pointer field of req's argument zeroed.
func withoutPointer(req uint32, b []byte) []byte {
	out := append([]byte(nil), b...)
	if off, ok := v4l2.PointerOffset(req, b); ok {
		clear(out[off : off+v4l2.PointerSize])
	}
	return out
}

func (c *recConn) Ioctl(req uint32, arg, ext []byte) error {
	op := Op{Op: OpIoctl, Req: v4l2.RequestName(req), Nr: req, In: withoutPointer(req, arg)}
	if ext != nil {
		op.ExtIn = append([]byte(nil), ext...)
	}
	err := c.conn.Ioctl(req, arg, ext)
	op.Errno = errnoOf(err)
	op.Out = withoutPointer(req, arg)
	if ext != nil {
		op.ExtOut = append([]byte(nil), ext...)
	}
	if err == nil {
		for _, p := range v4l2.DequeuedData(nil, req, arg, ext) {
			m := c.maps[p.Offset]
			op.Data = append(op.Data, append([]byte(nil), m[:min(p.BytesUsed, len(m))]...))
		}
	}
	c.add(op)
	return err
}

func (c *recConn) Mmap(offset int64, length int) ([]byte, error) {
	b, err := c.conn.Mmap(offset, length)
	c.add(Op{Op: OpMmap, Offset: offset, Length: length, Errno: errnoOf(err)})
	if err == nil {
		c.maps[offset] = b
	}
	return b, err
}

func (c *recConn) Munmap(b []byte) error {
	var offset int64 = -1
	for o, m := range c.maps {
		if len(m) > 0 && len(b) > 0 && &m[0] == &b[0] {
			offset = o
			delete(c.maps, o)
			break
		}
	}
	err := c.conn.Munmap(b)
	c.add(Op{Op: OpMunmap, Offset: offset, Length: len(b), Errno: errnoOf(err)})
	return err
}

func (c *recConn) Poll(events int16, timeout time.Duration) (int16, error) {
	rev, err := c.conn.Poll(events, timeout)
	op := Op{Op: OpPoll, Events: events, Revents: rev, Errno: errnoOf(err)}
	if errors.Is(err, v4l2.ErrInterrupted) {
		op.Interrupted = true
	}
	c.add(op)
	return rev, err
}

func (c *recConn) Interrupt() { c.conn.Interrupt() }

func (c *recConn) Write(p []byte) (int, error) {
	n, err := c.conn.Write(p)
	c.add(Op{Op: OpWrite, Length: len(p), Errno: errnoOf(err)})
	return n, err
}

func (c *recConn) CloseFD(fd int) error {
	err := c.conn.CloseFD(fd)
	c.add(Op{Op: OpCloseFD, FD: fd, Errno: errnoOf(err)})
	return err
}

func (c *recConn) Close() error {
	err := c.conn.Close()
	c.add(Op{Op: OpClose, Errno: errnoOf(err)})
	return err
}
