package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/encode"
	"github.com/camd-project/camd/hw/v4l2"
)

// The rec-* cases are small, deterministic runs made to be recorded
// (-record) for the unit tests' replay: each test repeats its case's
// calls exactly, so a change here must be made there too (the replay
// fails loudly otherwise):
//
//	rec-devices          hw/v4l2/enumerate_test.go
//	rec-vicodec          encode/m2m_test.go
//	rec-vivid, rec-vivid-mplane, rec-loopback-h264, rec-loopback-mjpeg,
//	rec-unplug           capture/v4l2_test.go

// recDevices enumerates every node.
func recDevices(ctx context.Context, e *env) (string, error) {
	paths, err := videoPaths()
	if err != nil {
		return "", err
	}
	devs := v4l2.EnumerateWith(e.open, paths)
	return fmt.Sprintf("nodes=%d paths=%v", len(devs), paths), nil
}

func videoPaths() ([]string, error) {
	var paths []string
	for _, p := range []string{"/dev/video0", "/dev/video1", "/dev/video2", "/dev/video3", "/dev/video4", "/dev/video5", "/dev/video40"} {
		if _, err := os.Stat(p); err == nil {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil, errors.New("no video nodes")
	}
	return paths, nil
}

// recClock is a clock that moves only when told: 1/30 s per frame.
type recClock struct{ t time.Time }

func (c *recClock) Now() time.Time { return c.t }

// recVicodec: 640x360 FWHT, GOP 15, a frame clock of 100 ms per frame; a
// bitrate change at frame 3 (vicodec has no control), a forced keyframe
// at frame 10 (no FORCE_KEY_FRAME: restart), EIO at frame 11 (frame 12
// falls within RestartEvery of the last start and is dropped, frame 13
// restarts), 16 frames, drain. Keyframes at 0, 10 and 13.
func recVicodec(ctx context.Context, e *env) (string, error) {
	fo := &faultOpener{open: v4l2.OpenFile, req: vidiocDQBufNumber()}
	open := e.wrap(fo.Open)
	clock := &recClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	opts := encode.Options{Width: 640, Height: 360, FPS: 30, GOP: time.Second / 2, Bitrate: 1_000_000}
	enc, err := encode.NewM2M(opts, capture.Info{Format: capture.I420, Width: 640, Height: 360, FPS: 30},
		encode.M2MOptions{Device: "/dev/video4", CodedFormat: v4l2.PixFWHT, Open: open, Logger: e.log, Now: clock.Now})
	if err != nil {
		return "", err
	}
	pat := capture.NewPattern(capture.PatternOptions{Width: 640, Height: 360, FPS: 30})
	var keys, dropped, failed []uint64
	for seq := uint64(0); seq < 16; seq++ {
		clock.t = clock.t.Add(100 * time.Millisecond)
		switch seq {
		case 3:
			enc.SetBitrate(500_000)
		case 10:
			enc.ForceKeyframe()
		case 11:
			fo.armed.Store(true)
		}
		f := pat.Frame(seq, clock.t)
		au, ok, err := enc.Encode(f)
		f.Release()
		switch {
		case err != nil:
			failed = append(failed, seq)
		case !ok:
			dropped = append(dropped, seq)
		case au.Keyframe:
			keys = append(keys, seq)
		}
		if ok {
			if _, err := checkFWHT(au, 640, 360); err != nil {
				return "", err
			}
		}
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	n := enc.Stats().Restarts
	got := fmt.Sprintf("iframes=%v failed=%v dropped=%v restarts=%d", keys, failed, dropped, n)
	if want := "iframes=[0 10 13] failed=[11] dropped=[12] restarts=2"; got != want {
		return "", fmt.Errorf("%s, want %s", got, want)
	}
	return got, nil
}

// recVicodec720: 1280x720 FWHT from NV12 frames, GOP 10, 6 frames,
// drain: the steady state the encoder benchmarks repeat.
func recVicodec720(ctx context.Context, e *env) (string, error) {
	opts := encode.Options{Width: 1280, Height: 720, FPS: 30, GOP: time.Second / 3, Bitrate: 2_000_000}
	enc, err := encode.NewM2M(opts, capture.Info{Format: capture.NV12, Width: 1280, Height: 720, FPS: 30},
		encode.M2MOptions{Device: "/dev/video4", CodedFormat: v4l2.PixFWHT, Open: e.open, Logger: e.log})
	if err != nil {
		return "", err
	}
	f := nv12Frame(1280, 720)
	for seq := uint64(0); seq < 6; seq++ {
		f.Seq = seq
		if _, ok, err := enc.Encode(f); err != nil || !ok {
			return "", fmt.Errorf("frame %d: ok %v, %v", seq, ok, err)
		}
	}
	return "frames=6", enc.Close()
}

// nv12Frame is a grey NV12 frame.
func nv12Frame(w, h int) *capture.Frame {
	y, uv := make([]byte, w*h), make([]byte, w*h/2)
	for i := range y {
		y[i] = 128
	}
	for i := range uv {
		uv[i] = 128
	}
	return &capture.Frame{Format: capture.NV12, Width: w, Height: h, Planes: [][]byte{y, uv}, Strides: []int{w, w}}
}

// recCapture runs a source for n frames and cancels.
func recCapture(opts capture.V4L2Options, n int) func(context.Context, *env) (string, error) {
	return func(ctx context.Context, e *env) (string, error) {
		opts.Open, opts.Logger = e.open, e.log
		src, err := capture.NewV4L2(opts)
		if err != nil {
			return "", err
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		got := 0
		var bad error
		err = src.Run(ctx, func(f *capture.Frame) {
			if bad == nil {
				bad = checkFrame(f, src.Info())
			}
			f.Release()
			got++
			if got == n {
				cancel()
			}
		})
		if err == nil {
			err = bad
		}
		return fmt.Sprintf("frames=%d info=%+v", got, src.Info()), err
	}
}

func recWithFeeder(fd func() (*feeder, error), run func(context.Context, *env) (string, error)) func(context.Context, *env) (string, error) {
	return func(ctx context.Context, e *env) (string, error) {
		f, err := fd()
		if err != nil {
			return "", err
		}
		if err := f.start(); err != nil {
			return "", err
		}
		defer f.stop()
		return run(ctx, e)
	}
}

// withVividMplane reloads vivid as a multi-planar device for run.
func withVividMplane(run func(context.Context, *env) (string, error)) func(context.Context, *env) (string, error) {
	return func(ctx context.Context, e *env) (string, error) {
		if err := modprobe("-r", "vivid"); err != nil {
			return "", err
		}
		defer func() {
			modprobe("-r", "vivid")
			modprobe("vivid")
		}()
		if err := modprobe("vivid", "multiplanar=2"); err != nil {
			return "", err
		}
		time.Sleep(200 * time.Millisecond)
		return run(ctx, e)
	}
}

// recUnplug: 3 frames, vivid unbound, bound again, 3 more frames.
func recUnplug(ctx context.Context, e *env) (string, error) {
	src, err := capture.NewV4L2(capture.V4L2Options{Device: "/dev/video0", Input: "0", Width: 320, Height: 180, FPS: 30,
		Format: capture.YUYV, Open: e.open, Logger: e.log})
	if err != nil {
		return "", err
	}
	w := watch(ctx, src)
	defer w.stop()
	if !until(ctx, 5*time.Second, func() bool { n, _ := w.count(); return n >= 3 }) {
		return "", errors.New("no frames before the unplug")
	}
	const drv = "/sys/bus/platform/drivers/vivid/"
	if err := os.WriteFile(drv+"unbind", []byte("vivid.0"), 0); err != nil {
		return "", err
	}
	if !until(ctx, 3*time.Second, func() bool { return src.Status().State == capture.StateDisconnected }) {
		return "", errors.New("not disconnected")
	}
	time.Sleep(700 * time.Millisecond)
	if err := os.WriteFile(drv+"bind", []byte("vivid.0"), 0); err != nil {
		return "", err
	}
	n0, _ := w.count()
	if !until(ctx, 5*time.Second, func() bool { n, _ := w.count(); return n >= n0+3 }) {
		return "", errors.New("no frames after the replug")
	}
	if err := w.stop(); err != nil {
		return "", err
	}
	st := src.Status()
	return fmt.Sprintf("frames=%d reconnects=%d", st.Frames, st.Reconnects), nil
}
