package serial

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Bridge keeps one serial port open for as long as Run runs and moves bytes
// both ways. Its methods are safe for concurrent use.
type Bridge struct {
	opts   BridgeOptions
	clk    Clock
	log    *slog.Logger
	writes chan *write

	mu      sync.Mutex
	status  Status
	gen     uint64 // counts opens; a write belongs to the connection it was sent on
	running bool
	stats   Stats

	bytesIn, bytesOut, reads atomic.Uint64
}

type write struct {
	gen  uint64
	p    []byte
	done chan error
}

// NewBridge checks the options and returns a Bridge. Nothing is opened
// until Run.
func NewBridge(opts BridgeOptions) (*Bridge, error) {
	if err := opts.Port.Validate(); err != nil {
		return nil, fmt.Errorf("serial.NewBridge: %w", err)
	}
	if opts.MaxLine != 0 && opts.MaxLine < 16 {
		return nil, fmt.Errorf("serial.NewBridge: %w: max line %d, want at least 16", ErrBadConfig, opts.MaxLine)
	}
	if opts.Invalid < InvalidPass || opts.Invalid > InvalidDrop {
		return nil, fmt.Errorf("serial.NewBridge: %w: %v", ErrBadConfig, opts.Invalid)
	}
	opts.defaults()
	return &Bridge{
		opts:   opts,
		clk:    opts.Clock,
		log:    opts.Logger.With("port", opts.Port.String()),
		writes: make(chan *write, opts.WriteQueue),
	}, nil
}

// Name describes the port: its path, or its USB ids.
func (b *Bridge) Name() string { return b.opts.Port.String() }

// Status returns the current Status.
func (b *Bridge) Status() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status
}

// Stats returns the counters.
func (b *Bridge) Stats() Stats {
	b.mu.Lock()
	s := b.stats
	b.mu.Unlock()
	s.BytesIn, s.BytesOut, s.Reads = b.bytesIn.Load(), b.bytesOut.Load(), b.reads.Load()
	return s
}

// Send writes p to the port and waits until it is written, ctx ends, or
// the port goes away. It fails at once with ErrDisconnected while the port
// is not open (nothing is kept for later: a stale command must not run when
// the device comes back) and with ErrBusy when WriteQueue writes are
// already waiting. A write abandoned by ctx may still reach the port.
// Writes reach the port whole and in the order Send was called.
func (b *Bridge) Send(ctx context.Context, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	b.mu.Lock()
	running, connected, gen := b.running, b.status.Connected, b.gen
	b.mu.Unlock()
	switch {
	case !running:
		return fmt.Errorf("serial.Send: %w", ErrClosed)
	case !connected:
		b.refused()
		return fmt.Errorf("serial.Send: %w", ErrDisconnected)
	}
	w := &write{gen: gen, p: bytes.Clone(p), done: make(chan error, 1)}
	select {
	case b.writes <- w:
	default:
		b.refused()
		return fmt.Errorf("serial.Send: %w (%d writes waiting)", ErrBusy, cap(b.writes))
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("serial.Send: %w", ctx.Err())
	}
}

func (b *Bridge) refused() {
	b.mu.Lock()
	b.stats.WritesRefused++
	b.mu.Unlock()
}

// Run opens the port and keeps it open until ctx ends: when it fails or
// vanishes, Run reports the Status and tries again after the backoff. It
// returns nil when ctx ends (cancellation is not an error), or an error if
// it is already running.
func (b *Bridge) Run(ctx context.Context) error {
	b.mu.Lock()
	if b.running {
		b.mu.Unlock()
		return fmt.Errorf("serial.Bridge.Run: already running")
	}
	b.running = true
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.running = false
		b.mu.Unlock()
	}()

	backoff := b.opts.MinBackoff
	for ctx.Err() == nil {
		port, path, err := b.opts.Open(b.opts.Port)
		if err != nil {
			b.failedOpen(path, err)
		} else {
			opened := b.clk.Now()
			b.connected(path)
			err = b.serve(ctx, port)
			if ctx.Err() != nil {
				b.disconnected(path, ErrClosed)
				return nil
			}
			b.disconnected(path, err)
			if b.clk.Now().Sub(opened) >= b.opts.MaxBackoff {
				backoff = b.opts.MinBackoff // it was up for a while: come back fast
			}
		}
		select {
		case <-ctx.Done():
		case <-b.clk.After(backoff):
			backoff = min(2*backoff, b.opts.MaxBackoff)
		}
	}
	return nil
}

func (b *Bridge) failedOpen(path string, err error) {
	b.mu.Lock()
	b.stats.FailedOpens++
	was := b.status
	b.status.Attempts++
	b.status.Path = path
	b.status.Err = err
	changed := was.Connected || was.Err == nil || was.Err.Error() != err.Error()
	if changed {
		b.status.Since = b.clk.Now()
	}
	st := b.status
	b.mu.Unlock()
	b.failQueued() // a write that slipped in as the port went away
	if changed {
		b.log.Info("serial port unavailable", "err", err)
		b.opts.OnStatus(st)
	}
}

func (b *Bridge) connected(path string) {
	now := b.clk.Now()
	b.mu.Lock()
	b.gen++
	b.stats.Opens++
	b.stats.LastOpen = now
	b.status = Status{Connected: true, Path: path, Since: now}
	st := b.status
	b.mu.Unlock()
	b.log.Info("serial port open", "path", path)
	b.opts.OnStatus(st)
}

func (b *Bridge) disconnected(path string, err error) {
	now := b.clk.Now()
	b.mu.Lock()
	b.stats.Disconnects++
	b.stats.LastClose = now
	b.status = Status{Path: path, Err: err, Since: now}
	st := b.status
	b.mu.Unlock()
	b.failQueued()
	b.log.Info("serial port closed", "path", path, "err", err)
	b.opts.OnStatus(st)
}

// failQueued fails the writes that were waiting when the port went away.
func (b *Bridge) failQueued() {
	for {
		select {
		case w := <-b.writes:
			w.done <- fmt.Errorf("serial.Send: %w", ErrDisconnected)
		default:
			return
		}
	}
}

// writerGrace is how long closing a port waits for a write stuck in the
// kernel (a USB device that stopped reading) before leaving it behind.
const writerGrace = time.Second

// serve moves bytes until the port fails or ctx ends, then closes the port.
func (b *Bridge) serve(ctx context.Context, port Port) error {
	b.mu.Lock()
	gen := b.gen
	b.mu.Unlock()
	readErr := make(chan error, 1)
	writeErr := make(chan error, 1)
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() { readErr <- b.read(port) }()
	go func() { defer close(writerDone); b.write(port, gen, stop, writeErr) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-readErr:
		readErr <- err // for the wait below
	case err = <-writeErr:
	}
	close(stop)
	if cerr := port.Close(); cerr != nil {
		b.log.Debug("serial: close", "err", cerr)
	}
	<-readErr
	select {
	case <-writerDone:
	case <-time.After(writerGrace): // not the injected clock: this is a real syscall
		b.log.Warn("serial: a write is stuck in the kernel; leaving it behind")
	}
	return err
}

func (b *Bridge) read(port Port) error {
	var emit func([]byte)
	var lines *lineSplitter
	if b.opts.Lines {
		lines = newLineSplitter(b.opts.MaxLine, b.opts.Invalid, b.opts.OnData)
		emit = lines.feed
	} else {
		emit = func(p []byte) { b.opts.OnData(bytes.Clone(p)) }
	}
	buf := make([]byte, b.opts.MaxLine)
	for {
		n, err := port.Read(buf)
		if n > 0 {
			b.reads.Add(1)
			b.bytesIn.Add(uint64(n))
			emit(buf[:n])
		}
		if err == nil && n == 0 {
			err = errors.New("read returned nothing")
		}
		if err != nil {
			if lines != nil {
				lines.flush()
				b.mu.Lock()
				b.stats.LinesDropped += lines.dropped
				b.mu.Unlock()
			}
			return fmt.Errorf("serial: read: %w", err)
		}
		if lines != nil && lines.dropped > 0 {
			b.mu.Lock()
			b.stats.LinesDropped += lines.dropped
			b.mu.Unlock()
			lines.dropped = 0
		}
	}
}

func (b *Bridge) write(port Port, gen uint64, stop <-chan struct{}, failed chan<- error) {
	for {
		select {
		case <-stop:
			return
		case w := <-b.writes:
			if w.gen != gen {
				w.done <- fmt.Errorf("serial.Send: %w", ErrDisconnected)
				continue
			}
			n, err := writeAll(port, w.p)
			b.bytesOut.Add(uint64(n))
			if err != nil {
				b.mu.Lock()
				b.stats.WriteErrors++
				b.mu.Unlock()
				err = fmt.Errorf("serial.Send: write: %w", err)
				w.done <- err
				failed <- err
				return
			}
			w.done <- nil
		}
	}
}

func writeAll(port Port, p []byte) (int, error) {
	var sent int
	for sent < len(p) {
		n, err := port.Write(p[sent:])
		sent += max(n, 0)
		if err != nil {
			return sent, err
		}
		if n <= 0 {
			return sent, errors.New("wrote nothing")
		}
	}
	return sent, nil
}
