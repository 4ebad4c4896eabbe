package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/camd-project/camd/capture"
)

// watcher runs a source and notes when frames arrive.
type watcher struct {
	src    *capture.V4L2
	cancel context.CancelFunc
	done   chan error

	mu     sync.Mutex
	frames int
	last   time.Time
}

func watch(ctx context.Context, src *capture.V4L2) *watcher {
	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{src: src, cancel: cancel, done: make(chan error, 1)}
	go func() {
		w.done <- src.Run(ctx, func(f *capture.Frame) {
			f.Release()
			w.mu.Lock()
			w.frames++
			w.last = time.Now()
			w.mu.Unlock()
		})
	}()
	return w
}

func (w *watcher) count() (int, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.frames, w.last
}

// until polls cond every 10 ms for up to d.
func until(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

func (w *watcher) framesAfter(t time.Time) bool {
	_, last := w.count()
	return last.After(t)
}

// stop ends Run and checks that it returned nil, as a source must when
// its context ends whatever the camera did.
func (w *watcher) stop() error {
	w.cancel()
	select {
	case err := <-w.done:
		if err != nil {
			return fmt.Errorf("Run returned %w, want nil", err)
		}
		return nil
	case <-time.After(5 * time.Second):
		return errors.New("Run did not return after cancel")
	}
}

// caseUnplugVivid unbinds vivid's platform device under a streaming
// source (its nodes vanish, as a USB camera's do when pulled), then binds
// it again: the source must say disconnected, keep running, and stream
// again within 2 s of the camera's return.
func caseUnplugVivid(ctx context.Context, e *env) (string, error) {
	src, err := capture.NewV4L2(capture.V4L2Options{Device: "vivid", Input: "0", Width: 640, Height: 480, FPS: 25, Open: e.open, Logger: e.log})
	if err != nil {
		return "", err
	}
	w := watch(ctx, src)
	defer w.stop()
	if !until(ctx, 5*time.Second, func() bool { n, _ := w.count(); return n >= 10 }) {
		return "", errors.New("no frames before the unplug")
	}
	node := src.Status().Device
	const drv = "/sys/bus/platform/drivers/vivid/"
	if err := os.WriteFile(drv+"unbind", []byte("vivid.0"), 0); err != nil {
		return "", fmt.Errorf("unplug: %w", err)
	}
	pulled := time.Now()
	if !until(ctx, 3*time.Second, func() bool { return src.Status().State == capture.StateDisconnected }) {
		return "", fmt.Errorf("status %+v 3 s after the unplug, want disconnected", src.Status())
	}
	noticed := time.Since(pulled)
	if _, err := os.Stat(node); !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s still there after the unplug: %v", node, err)
	}
	reason := src.Status().Err
	time.Sleep(time.Second) // the camera stays away; Run keeps looking
	if err := os.WriteFile(drv+"bind", []byte("vivid.0"), 0); err != nil {
		return "", fmt.Errorf("replug: %w", err)
	}
	back := time.Now()
	if !until(ctx, 5*time.Second, func() bool { return w.framesAfter(back) }) {
		return "", fmt.Errorf("no frame within 5 s of the replug; status %+v", src.Status())
	}
	_, first := w.count()
	took := first.Sub(back)
	st := src.Status()
	if took > 2*time.Second {
		return "", fmt.Errorf("picture back %v after the replug, want within 2 s", took)
	}
	if st.State != capture.StateStreaming || st.Reconnects != 1 {
		return "", fmt.Errorf("status %+v, want streaming after 1 reconnect", st)
	}
	if err := w.stop(); err != nil {
		return "", err
	}
	return fmt.Sprintf("noticed=%v back_after=%v reconnects=%d reason=%q", noticed.Round(time.Millisecond), took.Round(time.Millisecond), st.Reconnects, reason), nil
}

// caseUnplugLoopback stops the H.264 feeder of v4l2loopback (the camera
// goes silent), removes the module (the node goes away), loads it again
// and restarts the feeder: the source must say disconnected, keep running,
// and stream again within 2 s of the camera's return.
func caseUnplugLoopback(ctx context.Context, e *env) (string, error) {
	fd := h264Feeder()
	if err := fd.start(); err != nil {
		return "", err
	}
	defer fd.stop()
	src, err := capture.NewV4L2(capture.V4L2Options{Device: loopbackCard, Width: 320, Height: 240, FPS: 30, Open: e.open, Logger: e.log})
	if err != nil {
		return "", err
	}
	w := watch(ctx, src)
	defer w.stop()
	if !until(ctx, 5*time.Second, func() bool { n, _ := w.count(); return n >= 10 }) {
		return "", errors.New("no frames before the feeder stopped")
	}
	if err := fd.stop(); err != nil {
		return "", fmt.Errorf("feeder: %w", err)
	}
	silent := time.Now()
	if !until(ctx, 4*time.Second, func() bool { return src.Status().State == capture.StateDisconnected }) {
		return "", fmt.Errorf("status %+v 4 s after the camera went silent, want disconnected", src.Status())
	}
	noticed := time.Since(silent)
	if err := modprobe("-r", "v4l2loopback"); err != nil {
		return "", err
	}
	if _, err := os.Stat(loopbackPath); !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s still there without the module: %v", loopbackPath, err)
	}
	time.Sleep(time.Second)
	if src.Status().State != capture.StateDisconnected {
		return "", fmt.Errorf("status %+v with the node gone, want disconnected", src.Status())
	}
	if err := modprobe("v4l2loopback"); err != nil {
		return "", err
	}
	if !until(ctx, 3*time.Second, func() bool { _, err := os.Stat(loopbackPath); return err == nil }) {
		return "", fmt.Errorf("%s did not come back", loopbackPath)
	}
	if err := fd.start(); err != nil {
		return "", err
	}
	back := time.Now()
	if !until(ctx, 5*time.Second, func() bool { return w.framesAfter(back) }) {
		return "", fmt.Errorf("no frame within 5 s of the camera's return; status %+v", src.Status())
	}
	_, first := w.count()
	took := first.Sub(back)
	st := src.Status()
	if took > 2*time.Second {
		return "", fmt.Errorf("picture back %v after the camera returned, want within 2 s", took)
	}
	if st.State != capture.StateStreaming || st.Reconnects != 1 {
		return "", fmt.Errorf("status %+v, want streaming after 1 reconnect", st)
	}
	if err := w.stop(); err != nil {
		return "", err
	}
	return fmt.Sprintf("noticed=%v back_after=%v reconnects=%d", noticed.Round(time.Millisecond), took.Round(time.Millisecond), st.Reconnects), nil
}
