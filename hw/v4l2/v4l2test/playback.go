package v4l2test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/camd-project/camd/hw/v4l2"
)

// ErrMismatch means the code under test did something other than what was
// recorded, or left recorded operations undone.
var ErrMismatch = errors.New("v4l2test: exchange differs from the recording")

// InterruptWait bounds how long a replayed poll that was interrupted in
// the recording waits for the code under test to interrupt it too.
var InterruptWait = 10 * time.Second

// Player replays an Exchange.
type Player struct {
	ex *Exchange

	interrupted chan struct{} // a replayed poll waits for Interrupt

	mu      sync.Mutex
	opened  []bool
	conns   []*playConn
	errs    []error
	repeats map[*File]repeat
}

// Exchange returns the exchange the player replays.
func (p *Player) Exchange() *Exchange { return p.ex }

// Playback returns a Player for ex. It fails when ex was recorded with
// another pointer size than this target's.
func Playback(ex *Exchange) (*Player, error) {
	if ex.PointerSize != v4l2.PointerSize {
		return nil, fmt.Errorf("v4l2test: exchange recorded with %d-byte pointers, this target has %d", ex.PointerSize, v4l2.PointerSize)
	}
	return &Player{ex: ex, opened: make([]bool, len(ex.Files)), interrupted: make(chan struct{}, 1)}, nil
}

// Interrupted receives when the code under test reaches a poll that
// Interrupt ended in the recording: the point where the recorded program
// was stopped. A test cancels its context then, as the recording did.
func (p *Player) Interrupted() <-chan struct{} { return p.interrupted }

func (p *Player) fail(err error) error {
	p.mu.Lock()
	p.errs = append(p.errs, err)
	p.mu.Unlock()
	return err
}

// Open returns the next recorded file opened with path, in recording
// order. It is a v4l2.OpenFunc.
func (p *Player) Open(path string) (v4l2.Conn, error) {
	p.mu.Lock()
	idx := -1
	for i, f := range p.ex.Files {
		if !p.opened[i] && f.Path == path {
			idx = i
			break
		}
	}
	if idx < 0 {
		p.mu.Unlock()
		return nil, p.fail(fmt.Errorf("open %s: not in the recording (or opened more often): %w", path, ErrMismatch))
	}
	p.opened[idx] = true
	f := p.ex.Files[idx]
	p.mu.Unlock()
	if f.OpenErrno != 0 {
		return nil, fmt.Errorf("open %s: %w", path, syscall.Errno(f.OpenErrno))
	}
	c := &playConn{p: p, f: f, maps: map[int64][]byte{}, wake: make(chan struct{}, 1)}
	p.mu.Lock()
	if r, ok := p.repeats[f]; ok {
		c.rep = &r
	}
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	return c, nil
}

// Close reports the first mismatch, files never opened, and operations
// not consumed. Call it once the code under test has closed its devices.
func (p *Player) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	errs = append(errs, p.errs...)
	for i, f := range p.ex.Files {
		if !p.opened[i] {
			errs = append(errs, fmt.Errorf("recorded open %d of %s never happened: %w", i, f.Path, ErrMismatch))
		}
	}
	for _, c := range p.conns {
		c.mu.Lock()
		if c.next < len(c.f.Ops) && c.rep == nil {
			errs = append(errs, fmt.Errorf("%s: %d of %d operations consumed, next expected %v: %w",
				c.f.Path, c.next, len(c.f.Ops), &c.f.Ops[c.next], ErrMismatch))
		}
		c.mu.Unlock()
	}
	return errors.Join(errs...)
}

type playConn struct {
	p    *Player
	f    *File
	wake chan struct{} // Interrupt's token

	mu     sync.Mutex
	next   int
	maps   map[int64][]byte
	planes []v4l2.MappedPlane // scratch for DequeuedData

	// Repeat: from rep.from on, play rep.cycle over and over (pos is the
	// place in it), matching only the kind and request of each operation;
	// looped counts the operations played from the cycle.
	rep    *repeat
	pos    int
	looped int
}

// Repeat makes the file opened i-th (in recording order) play its
// operations before from, then the operations at the indices in cycle, in
// that order, over and over: benchmarks run a recorded steady state (a
// frame or two) as long as they like. Within the cycle only each
// operation's kind and request are checked (timestamps and sequence
// numbers move on), answers are the recorded ones, and data is put in
// mapped buffers the first time only. Close does not ask for such a file
// to be consumed. Call it before the file is opened.
func (p *Player) Repeat(i, from int, cycle []int) error {
	if i < 0 || i >= len(p.ex.Files) || from < 0 || from > len(p.ex.Files[i].Ops) || len(cycle) == 0 {
		return fmt.Errorf("v4l2test: Repeat(%d, %d, %v) outside the recording", i, from, cycle)
	}
	for _, k := range cycle {
		if k < 0 || k >= len(p.ex.Files[i].Ops) {
			return fmt.Errorf("v4l2test: Repeat: operation %d outside the recording", k)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.repeats == nil {
		p.repeats = map[*File]repeat{}
	}
	p.repeats[p.ex.Files[i]] = repeat{from, append([]int(nil), cycle...)}
	return nil
}

type repeat struct {
	from  int
	cycle []int
}

// take returns the next recorded operation if it is of kind op. It
// allocates only to report a mismatch.
func (c *playConn) take(op string, req uint32, n int64) (*Op, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rep != nil && c.next >= c.rep.from {
		o := &c.f.Ops[c.rep.cycle[c.pos]]
		if o.Op != op || op == OpIoctl && o.Nr != req {
			return nil, c.p.fail(fmt.Errorf("%s: %s in the repeated cycle, recorded %v: %w", c.f.Path, describe(op, req, n), o, ErrMismatch))
		}
		c.pos = (c.pos + 1) % len(c.rep.cycle)
		c.looped++
		return o, nil
	}
	if c.next >= len(c.f.Ops) {
		return nil, c.p.fail(fmt.Errorf("%s: %s after the end of the recording (%d ops): %w", c.f.Path, describe(op, req, n), len(c.f.Ops), ErrMismatch))
	}
	o := &c.f.Ops[c.next]
	if o.Op != op || op == OpIoctl && o.Nr != req {
		return nil, c.p.fail(fmt.Errorf("%s: op %d is %s, recorded %v: %w", c.f.Path, c.next, describe(op, req, n), o, ErrMismatch))
	}
	c.next++
	return o, nil
}

// repeating reports whether the last operation came from a repeated
// cycle, where only kinds and requests are checked, and whether it was
// its first time (when recorded data still goes into mapped buffers).
func (c *playConn) repeating() (repeat, first bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.looped == 0 {
		return false, true
	}
	return true, c.looped <= len(c.rep.cycle)
}

func describe(op string, req uint32, n int64) string {
	switch op {
	case OpIoctl:
		return v4l2.RequestName(req)
	case OpMmap, OpMunmap, OpWrite:
		return fmt.Sprintf("%s(%d bytes)", op, n)
	case OpPoll:
		return fmt.Sprintf("poll(%#x)", n)
	case OpCloseFD:
		return fmt.Sprintf("closefd(%d)", n)
	}
	return op
}

func errnoErr(e int) error {
	if e == 0 {
		return nil
	}
	return syscall.Errno(e)
}

// equalBut compares a and b except for the n bytes at off (a pointer
// field), without copying.
func equalBut(a, b []byte, off, n int) bool {
	if len(a) != len(b) {
		return false
	}
	if n == 0 {
		return bytes.Equal(a, b)
	}
	for i := range a {
		if (i < off || i >= off+n) && a[i] != b[i] {
			return false
		}
	}
	return true
}

func (c *playConn) Ioctl(req uint32, arg, ext []byte) error {
	o, err := c.take(OpIoctl, req, 0)
	if err != nil {
		return err
	}
	ptrOff, hasPtr := v4l2.PointerOffset(req, arg)
	ptrLen := 0
	if hasPtr {
		ptrLen = v4l2.PointerSize
	}
	repeat, first := c.repeating()
	if !repeat {
		if !equalBut(arg, o.In, ptrOff, ptrLen) {
			return c.p.fail(fmt.Errorf("%s: %s argument differs at byte %d: %w", c.f.Path, v4l2.RequestName(req), firstDiff(withoutPointer(req, arg), o.In), ErrMismatch))
		}
		if o.ExtIn != nil && !bytes.Equal(ext, o.ExtIn) {
			return c.p.fail(fmt.Errorf("%s: %s array differs at byte %d: %w", c.f.Path, v4l2.RequestName(req), firstDiff(ext, o.ExtIn), ErrMismatch))
		}
	}
	var ptr [8]byte
	if hasPtr {
		copy(ptr[:], arg[ptrOff:ptrOff+ptrLen])
	}
	copy(arg, o.Out)
	if hasPtr {
		copy(arg[ptrOff:], ptr[:ptrLen])
	}
	if o.ExtOut != nil {
		copy(ext, o.ExtOut)
	}
	if len(o.Data) > 0 && first {
		c.mu.Lock()
		c.planes = v4l2.DequeuedData(c.planes[:0], req, arg, ext)
		for i, pl := range c.planes {
			if i < len(o.Data) {
				copy(c.maps[pl.Offset], o.Data[i])
			}
		}
		c.mu.Unlock()
	}
	return errnoErr(o.Errno)
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func (c *playConn) Mmap(offset int64, length int) ([]byte, error) {
	o, err := c.take(OpMmap, 0, int64(length))
	if err != nil {
		return nil, err
	}
	if o.Offset != offset || o.Length != length {
		return nil, c.p.fail(fmt.Errorf("%s: mmap(offset %d, %d bytes), recorded %v: %w", c.f.Path, offset, length, o, ErrMismatch))
	}
	if o.Errno != 0 {
		return nil, errnoErr(o.Errno)
	}
	b := make([]byte, length)
	c.mu.Lock()
	c.maps[offset] = b
	c.mu.Unlock()
	return b, nil
}

func (c *playConn) Munmap(b []byte) error {
	o, err := c.take(OpMunmap, 0, int64(len(b)))
	if err != nil {
		return err
	}
	if o.Length != len(b) {
		return c.p.fail(fmt.Errorf("%s: munmap(%d bytes), recorded %v: %w", c.f.Path, len(b), o, ErrMismatch))
	}
	return errnoErr(o.Errno)
}

// Poll answers at once with the recorded events, except that a poll
// Interrupt ended in the recording waits for Interrupt here too.
func (c *playConn) Poll(events int16, timeout time.Duration) (int16, error) {
	o, err := c.take(OpPoll, 0, int64(events))
	if err != nil {
		return 0, err
	}
	if r, _ := c.repeating(); o.Events != events && !r {
		return 0, c.p.fail(fmt.Errorf("%s: poll(%#x), recorded poll(%#x): %w", c.f.Path, events, o.Events, ErrMismatch))
	}
	if o.Interrupted {
		select {
		case c.p.interrupted <- struct{}{}:
		default:
		}
		select {
		case <-c.wake:
			return 0, v4l2.ErrInterrupted
		case <-time.After(InterruptWait):
			return 0, c.p.fail(fmt.Errorf("%s: the recorded poll was interrupted, nothing interrupted it here: %w", c.f.Path, ErrMismatch))
		}
	}
	return o.Revents, errnoErr(o.Errno)
}

func (c *playConn) Interrupt() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *playConn) Write(p []byte) (int, error) {
	o, err := c.take(OpWrite, 0, int64(len(p)))
	if err != nil {
		return 0, err
	}
	if r, _ := c.repeating(); o.Length != len(p) && !r {
		return 0, c.p.fail(fmt.Errorf("%s: write(%d bytes), recorded %v: %w", c.f.Path, len(p), o, ErrMismatch))
	}
	if o.Errno != 0 {
		return 0, errnoErr(o.Errno)
	}
	return len(p), nil
}

func (c *playConn) CloseFD(fd int) error {
	o, err := c.take(OpCloseFD, 0, int64(fd))
	if err != nil {
		return err
	}
	if r, _ := c.repeating(); o.FD != fd && !r {
		return c.p.fail(fmt.Errorf("%s: closefd(%d), recorded closefd(%d): %w", c.f.Path, fd, o.FD, ErrMismatch))
	}
	return errnoErr(o.Errno)
}

func (c *playConn) Close() error {
	o, err := c.take(OpClose, 0, 0)
	if err != nil {
		return err
	}
	return errnoErr(o.Errno)
}

// RepeatFrames makes a recorded capture stream endless: file i's steady
// state per frame (poll, DQBUF with a frame, QBUF giving it back, DQBUF
// answering EAGAIN), found after the first poll, is replayed for ever. A
// camera with no cost of its own, for benchmarks of what camd does with
// its frames.
func (p *Player) RepeatFrames(i int) error {
	ex := p.ex
	poll := ex.Find(i, 0, OpPoll, 0)
	deq := ex.Find(i, poll, "VIDIOC_DQBUF", 0)
	q := ex.Find(i, deq, "VIDIOC_QBUF", 0)
	again := -1
	for k := q; k >= 0 && again < 0; k = ex.Find(i, k+1, "VIDIOC_DQBUF", 0) {
		if ex.Files[i].Ops[k].Errno != 0 {
			again = k
		}
	}
	if poll < 0 || deq < 0 || q < 0 || again < 0 {
		return errors.New("v4l2test: no steady capture state (poll, DQBUF, QBUF, DQBUF EAGAIN) in the recording")
	}
	return p.Repeat(i, poll+1, []int{deq, q, again, poll})
}
