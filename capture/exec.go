package capture

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ExecOptions configure an Exec source.
type ExecOptions struct {
	// Command is run with /bin/sh -c, so it may be a pipeline, e.g.
	// "rpicam-vid -t 0 --inline --codec h264 -o -".
	Command string
	// Format of what the command writes to stdout: H264 (Annex-B, the
	// default) or raw frames of I420, NV12 or YUYV, back to back.
	Format Format
	// Width, Height and FPS describe the stream (raw frames need them;
	// for H.264 they are what the page shows until the SPS says
	// otherwise). Default 1280x720 at 30.
	Width, Height int
	FPS           float64
	// MinBackoff and MaxBackoff bound the wait before restarting a command
	// that died: it doubles from the first to the second and resets after a
	// run that lasted a minute. Defaults 500 ms and 10 s.
	MinBackoff, MaxBackoff time.Duration
	// StopTimeout is how long a command has to exit after SIGTERM before it
	// is killed. Default 2 s.
	StopTimeout time.Duration
	Logger      *slog.Logger
}

// Exec is a source that runs a command and reads frames from its stdout:
// rpicam-vid on a Pi 5 (which has no hardware encoder), a CSI camera
// behind libcamera, ffmpeg, gstreamer. A command that dies is started
// again with backoff; every child is reaped, and killed with its process
// group when the source stops.
type Exec struct {
	opts ExecOptions
	log  *slog.Logger

	mu       sync.Mutex
	restarts int
	lastErr  string
	running  bool
}

// NewExec checks the options; nothing runs before Run.
func NewExec(o ExecOptions) (*Exec, error) {
	if strings.TrimSpace(o.Command) == "" {
		return nil, errors.New("capture.NewExec: empty command")
	}
	if o.Format == 0 {
		o.Format = H264
	}
	switch o.Format {
	case H264, I420, NV12, YUYV:
	default:
		return nil, fmt.Errorf("capture.NewExec: format %v: want H264, I420, NV12 or YUYV", o.Format)
	}
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 1280, 720
	}
	if o.Width%2 != 0 || o.Height%2 != 0 || o.Width < 0 || o.Height < 0 {
		return nil, fmt.Errorf("capture.NewExec: size %dx%d must be even", o.Width, o.Height)
	}
	if o.FPS <= 0 {
		o.FPS = 30
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(10*time.Second, o.MinBackoff)
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Exec{opts: o, log: o.Logger}, nil
}

// Info describes the stream.
func (e *Exec) Info() Info {
	return Info{Name: "command: " + e.opts.Command, Format: e.opts.Format, Width: e.opts.Width, Height: e.opts.Height, FPS: e.opts.FPS}
}

// ExecStatus says whether the command runs and how often it was restarted.
type ExecStatus struct {
	Running  bool
	Restarts int
	LastErr  string
}

// Status returns the current status.
func (e *Exec) Status() ExecStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	return ExecStatus{Running: e.running, Restarts: e.restarts, LastErr: e.lastErr}
}

// Run runs the command until ctx ends, restarting it when it dies.
func (e *Exec) Run(ctx context.Context, emit func(*Frame)) error {
	var seq uint64
	renumber := func(f *Frame) { f.Seq = seq; seq++; emit(f) }
	backoff := e.opts.MinBackoff
	for {
		started := time.Now()
		err := e.runOnce(ctx, renumber)
		if ctx.Err() != nil {
			return nil
		}
		e.mu.Lock()
		e.restarts++
		e.lastErr = err.Error()
		e.mu.Unlock()
		if time.Since(started) > time.Minute {
			backoff = e.opts.MinBackoff
		}
		e.log.Warn("command ended; starting it again", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, e.opts.MaxBackoff)
	}
}

// runOnce runs the command once and reads it until it ends or ctx does.
// It always reaps the child.
func (e *Exec) runOnce(ctx context.Context, emit func(*Frame)) error {
	cmd := exec.Command("/bin/sh", "-c", e.opts.Command)
	newProcessGroup(cmd) // so the whole pipeline can be stopped
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("stdout pipe: %w", err)
	}
	stderr := &tailWriter{max: 2048}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %q: %w", e.opts.Command, err)
	}
	e.setRunning(true)
	defer e.setRunning(false)

	stopped := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // stop the process group when ctx ends
		defer wg.Done()
		select {
		case <-stopped:
		case <-ctx.Done():
			stopGroup(cmd, false)
			select {
			case <-stopped:
			case <-time.After(e.opts.StopTimeout):
				stopGroup(cmd, true)
			}
		}
	}()
	readErr := e.read(ctx, stdout, emit)
	// The command may still run (a bad stream); end it before reaping.
	stopGroup(cmd, false)
	waitErr := cmd.Wait()
	close(stopped)
	wg.Wait()
	if waitErr != nil {
		if msg := stderr.String(); msg != "" {
			return fmt.Errorf("%w: %s", waitErr, msg)
		}
		return waitErr
	}
	if readErr != nil && !errors.Is(readErr, io.EOF) {
		return readErr
	}
	return errors.New("command exited")
}

func (e *Exec) setRunning(r bool) { e.mu.Lock(); e.running = r; e.mu.Unlock() }

// read turns stdout into frames until EOF.
func (e *Exec) read(ctx context.Context, r io.Reader, emit func(*Frame)) error {
	if e.opts.Format == H264 {
		chunks := make(chan []byte, 64)
		errc := make(chan error, 1)
		go func() {
			defer close(chunks)
			br := bufio.NewReaderSize(r, 64<<10)
			for {
				buf := make([]byte, 32<<10)
				n, err := br.Read(buf)
				if n > 0 {
					chunks <- buf[:n]
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
		src := NewStreamSource(e.opts.Command, chunks, e.opts.Width, e.opts.Height, e.opts.FPS)
		err := src.Run(ctx, emit)
		if errors.Is(err, ErrStreamEnded) {
			return <-errc
		}
		for range chunks { // ctx ended: let the reader finish
		}
		return err
	}
	w, h := e.opts.Width, e.opts.Height
	size := w * h * 3 / 2
	strides := []int{w, w / 2, w / 2}
	if e.opts.Format == NV12 {
		strides = []int{w, w}
	}
	if e.opts.Format == YUYV {
		size, strides = w*h*2, []int{2 * w}
	}
	for {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		f := &Frame{Format: e.opts.Format, Width: w, Height: h, Strides: strides, Time: time.Now()}
		switch e.opts.Format {
		case I420:
			f.Planes = [][]byte{buf[:w*h], buf[w*h : w*h*5/4], buf[w*h*5/4:]}
		case NV12:
			f.Planes = [][]byte{buf[:w*h], buf[w*h:]}
		default:
			f.Planes = [][]byte{buf}
		}
		emit(f)
	}
}

// tailWriter keeps the last bytes a command wrote to stderr, for errors.
type tailWriter struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
