package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options configure Launch. The zero value starts the Chromium found by
// Find, with 1280x720 pages, and discards its log.
type Options struct {
	// Path is the Chromium binary; empty means Find().
	Path string
	// Args are extra command-line flags, appended after the defaults
	// (a later flag overrides an earlier one in Chromium).
	Args []string
	// Stderr receives Chromium's stdout and stderr; nil discards them. The
	// last few KiB are kept anyway and quoted when Launch fails.
	Stderr io.Writer
	// Width and Height are the viewport (and so the screenshot) size of
	// every page in CSS pixels; 0 means 1280x720. (Headless Chromium
	// emulates window decorations, so the window alone would give a
	// smaller viewport; pages get an explicit device metrics override.)
	Width, Height int
}

// defaultArgs make a quiet, headless browser that runs as root in a
// container, reaches nothing on the network by itself, autoplays media and
// lets WebRTC pair on loopback. --use-fake-ui-for-media-stream grants
// camera permission without a prompt (Chromium exposes local addresses in
// ICE candidates once a page has it); the three background flags keep
// timers and rendering at full speed in a window nobody looks at.
var defaultArgs = []string{
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--no-default-browser-check",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--allow-loopback-in-peer-connection",
	"--autoplay-policy=no-user-gesture-required",
	"--use-fake-ui-for-media-stream",
	"--disable-renderer-backgrounding",
	"--disable-background-timer-throttling",
	"--disable-backgrounding-occluded-windows",
	"--remote-debugging-pipe",
}

const (
	closeAnswer = 2 * time.Second // Close waits this long for Browser.close to be answered,
	closeExit   = 5 * time.Second // then this long for the exit, before it kills

	// exitStatusWait is how long a call that found the pipe closed waits
	// for the exit status to name in its error.
	exitStatusWait = 200 * time.Millisecond
)

// Browser is a running Chromium. Its methods are safe for concurrent use.
type Browser struct {
	conn   *conn
	cmd    *exec.Cmd
	dir    string     // the temporary profile, removed by Close
	pipes  []*os.File // our ends: commands, responses, log
	log    *tail
	logEnd chan struct{} // closed when the log copier has stopped

	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed

	width, height int // of every page's viewport

	closeOnce sync.Once
	closeErr  error
}

// Launch starts Chromium with a fresh temporary profile and connects to it.
// ctx bounds the start-up only; the browser runs until Close.
func Launch(ctx context.Context, opts Options) (*Browser, error) {
	path := opts.Path
	if path == "" {
		p, err := Find()
		if err != nil {
			return nil, fmt.Errorf("browser.Launch: %w", err)
		}
		path = p
	}
	w, h := opts.Width, opts.Height
	if w <= 0 || h <= 0 {
		w, h = 1280, 720
	}
	dir, err := os.MkdirTemp("", "camd-chromium-")
	if err != nil {
		return nil, fmt.Errorf("browser.Launch: os.MkdirTemp: %w", err)
	}
	// Chromium reads commands on fd 3 and writes on fd 4; its stdout and
	// stderr go to a third pipe that we drain ourselves, so that helpers
	// that inherited it cannot hold up cmd.Wait.
	var files [6]*os.File // cmdR, cmdW, resR, resW, logR, logW
	for i := 0; i < len(files); i += 2 {
		if files[i], files[i+1], err = os.Pipe(); err != nil {
			closeAll(files[:i])
			os.RemoveAll(dir)
			return nil, fmt.Errorf("browser.Launch: os.Pipe: %w", err)
		}
	}
	args := append(append([]string(nil), defaultArgs...),
		"--user-data-dir="+dir,
		fmt.Sprintf("--window-size=%d,%d", w, h))
	args = append(args, opts.Args...)
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(),
		"HOME="+dir,
		"XDG_CONFIG_HOME="+filepath.Join(dir, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(dir, ".cache"))
	cmd.ExtraFiles = []*os.File{files[0], files[3]}
	cmd.Stdout, cmd.Stderr = files[5], files[5]
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	closeAll([]*os.File{files[0], files[3], files[5]}) // the child's ends
	if err != nil {
		closeAll([]*os.File{files[1], files[2], files[4]})
		os.RemoveAll(dir)
		return nil, fmt.Errorf("browser.Launch: start %s: %w", path, err)
	}

	b := &Browser{
		cmd:    cmd,
		dir:    dir,
		pipes:  []*os.File{files[1], files[2], files[4]},
		log:    &tail{w: opts.Stderr},
		logEnd: make(chan struct{}),
		exited: make(chan struct{}),
		width:  w,
		height: h,
	}
	go func() {
		_, _ = io.Copy(b.log, files[4])
		close(b.logEnd)
	}()
	go func() {
		b.waitErr = cmd.Wait()
		close(b.exited)
	}()
	b.conn = newConn(files[2], files[1])

	if err := b.Call(ctx, "", "Browser.getVersion", nil, nil); err != nil {
		b.Close()
		return nil, fmt.Errorf("browser.Launch: %s: %w%s", path, err, b.log.quote())
	}
	return b, nil
}

// Call sends the CDP command method with params (anything encoding/json
// marshals to an object, or nil) to the target attached as sessionID, or to
// the browser when sessionID is empty, and decodes the response's result
// into result unless it is nil. An error answered by Chromium is a
// *CDPError.
func (b *Browser) Call(ctx context.Context, sessionID, method string, params, result any) error {
	err := b.conn.call(ctx, sessionID, method, params, result)
	if errors.Is(err, ErrClosed) {
		// The pipe ends a moment before the exit is reaped; wait a little
		// for the exit status, which says whether Chromium crashed.
		t := time.NewTimer(exitStatusWait)
		defer t.Stop()
		select {
		case <-b.exited:
			if b.waitErr != nil {
				err = fmt.Errorf("%w (chromium: %v)", err, b.waitErr)
			}
		case <-t.C:
		}
	}
	return err
}

// Close asks Chromium to quit, kills it (and every helper process) if it
// has not quit within a few seconds, and removes the temporary profile.
// When it returns no goroutine of the browser is left. Later calls return
// the first call's result.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.close() })
	return b.closeErr
}

// Kill ends Chromium at once with SIGKILL, as a crash or a pulled plug
// would: its peers get no goodbye of any kind. Close still cleans up after.
func (b *Browser) Kill() {
	_ = b.cmd.Process.Kill()
	<-b.exited
}

func (b *Browser) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeAnswer)
	// Chromium may exit before it answers; the exit is what counts.
	_ = b.conn.call(ctx, "", "Browser.close", nil, nil)
	cancel()

	t := time.NewTimer(closeExit)
	select {
	case <-b.exited:
		t.Stop()
	case <-t.C:
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
	endLeftovers(b.cmd.Process.Pid, b.dir, closeExit)
	closeAll(b.pipes) // ends the read loop and the log copier
	<-b.conn.done
	<-b.logEnd

	if err := os.RemoveAll(b.dir); err != nil {
		return fmt.Errorf("browser.Close: os.RemoveAll: %w", err)
	}
	return nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// tail passes writes on to w (if any) and keeps the last tailSize bytes.
type tail struct {
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

const tailSize = 4 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.w != nil {
		_, _ = t.w.Write(p) // a failing log must not stop Chromium
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

// quote returns the kept log as a suffix for an error message.
func (t *tail) quote() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return ""
	}
	return "\nchromium log (last lines):\n" + s
}
