package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/encode"
	"github.com/camd-project/camd/hw/v4l2"
)

// vicodecOpts is the encoder set-up of the vicodec cases: 1280x720 at
// 30 fps with a keyframe every 10 frames (vicodec's GOP is 1..16 frames).
func vicodecOpts() encode.Options {
	return encode.Options{Width: 1280, Height: 720, FPS: 30, GOP: 10 * time.Second / 30, Bitrate: 2_000_000}
}

const vicodecGOP = 10

func newVicodec(e *env, open v4l2.OpenFunc) (*encode.M2M, error) {
	opts := vicodecOpts()
	return encode.NewM2M(opts, capture.Info{Name: "pattern", Format: capture.I420, Width: opts.Width, Height: opts.Height, FPS: opts.FPS},
		encode.M2MOptions{CodedFormat: v4l2.PixFWHT, Open: open, Logger: e.log})
}

// checkFWHT validates one encoded picture: header, size, data length.
func checkFWHT(au encode.AccessUnit, w, h int) (encode.FWHTHeader, error) {
	hd, err := encode.ParseFWHT(au.Data)
	if err != nil {
		return hd, fmt.Errorf("frame %d: %w", au.Seq, err)
	}
	if int(hd.Width) != w || int(hd.Height) != h {
		return hd, fmt.Errorf("frame %d: FWHT header says %dx%d, want %dx%d", au.Seq, hd.Width, hd.Height, w, h)
	}
	if len(au.Data) != encode.FWHTHeaderSize+int(hd.Size) {
		return hd, fmt.Errorf("frame %d: %d bytes, header announces %d", au.Seq, len(au.Data), encode.FWHTHeaderSize+int(hd.Size))
	}
	if hd.IFrame() != au.Keyframe {
		return hd, fmt.Errorf("frame %d: Keyframe=%v, header I-frame flag=%v", au.Seq, au.Keyframe, hd.IFrame())
	}
	return hd, nil
}

// caseVicodec runs the encoder through its whole life on vicodec: set-up,
// 40 frames, a bitrate change (vicodec has no bitrate control: tolerated),
// a forced keyframe (no FORCE_KEY_FRAME either: the encoder restarts), the
// GOP, drain.
func caseVicodec(ctx context.Context, e *env) (string, error) {
	enc, err := newVicodec(e, e.open)
	if err != nil {
		return "", err
	}
	defer enc.Close()
	opts := vicodecOpts()
	pat := capture.NewPattern(capture.PatternOptions{Width: opts.Width, Height: opts.Height, FPS: opts.FPS})
	const frames, forceAt = 40, 25
	var keys []uint64
	var bytes int
	var user, sys time.Duration
	start := time.Now()
	t0 := time.Now()
	for seq := uint64(0); seq < frames; seq++ {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if seq == 5 {
			enc.SetBitrate(1_000_000)
		}
		if seq == forceAt {
			enc.ForceKeyframe()
		}
		f := pat.Frame(seq, t0.Add(time.Duration(seq)*time.Second/30))
		u0, s0 := processCPU()
		au, ok, err := enc.Encode(f)
		u1, s1 := processCPU()
		user, sys = user+u1-u0, sys+s1-s0
		f.Release()
		if err != nil {
			return "", fmt.Errorf("Encode(frame %d): %w", seq, err)
		}
		if !ok {
			return "", fmt.Errorf("Encode(frame %d): no picture", seq)
		}
		if au.Seq != seq {
			return "", fmt.Errorf("frame %d came back as frame %d", seq, au.Seq)
		}
		if _, err := checkFWHT(au, opts.Width, opts.Height); err != nil {
			return "", err
		}
		bytes += len(au.Data)
		if au.Keyframe {
			keys = append(keys, seq)
		}
	}
	wall := time.Since(start)
	want := []uint64{0, 10, 20, 25, 35}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		return "", fmt.Errorf("I-frames at %v, want %v (GOP %d, keyframe forced at %d)", keys, want, vicodecGOP, forceAt)
	}
	if n := enc.Stats().Restarts; n != 1 {
		return "", fmt.Errorf("%d restarts, want 1 (the forced keyframe)", n)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("drain: %w", err)
	}
	return fmt.Sprintf("device=%s frames=%d iframes=%v bytes_per_frame=%d wall_per_frame=%v user_cpu_per_frame=%v sys_cpu_per_frame=%v",
		enc.Device(), frames, keys, bytes/frames, (wall / frames).Round(time.Microsecond),
		(user / frames).Round(time.Microsecond), (sys / frames).Round(time.Microsecond)), nil
}

// caseVicodecRestart injects EIO into a streaming vicodec session and
// checks that the encoder is back, starting with an I-frame, within 1 s.
func caseVicodecRestart(ctx context.Context, e *env) (string, error) {
	fo := &faultOpener{open: e.open, req: vidiocDQBufNumber()}
	enc, err := newVicodec(e, fo.Open)
	if err != nil {
		return "", err
	}
	defer enc.Close()
	opts := vicodecOpts()
	pat := capture.NewPattern(capture.PatternOptions{Width: opts.Width, Height: opts.Height, FPS: opts.FPS})
	var failedAt, backAt time.Time
	var first encode.AccessUnit
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	t0 := time.Now()
	for seq := uint64(0); seq < 300; seq++ {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-tick.C:
		}
		if seq == 12 {
			fo.armed.Store(true)
		}
		f := pat.Frame(seq, t0.Add(time.Duration(seq)*time.Second/30))
		au, ok, err := enc.Encode(f)
		f.Release()
		switch {
		case err != nil && failedAt.IsZero():
			if !errors.Is(err, syscall.EIO) {
				return "", fmt.Errorf("frame %d: %w, want the injected EIO", seq, err)
			}
			failedAt = time.Now()
			continue
		case err != nil:
			return "", fmt.Errorf("frame %d after the restart: %w", seq, err)
		case !ok || failedAt.IsZero():
			continue
		}
		backAt, first = time.Now(), au
		break
	}
	if failedAt.IsZero() || fo.Fired() != 1 {
		return "", fmt.Errorf("the fault never fired")
	}
	if backAt.IsZero() {
		return "", fmt.Errorf("no picture after the fault")
	}
	if _, err := checkFWHT(first, opts.Width, opts.Height); err != nil {
		return "", err
	}
	if !first.Keyframe {
		return "", fmt.Errorf("first picture after the restart (frame %d) is not an I-frame", first.Seq)
	}
	took := backAt.Sub(failedAt)
	st := enc.Stats()
	n, restart := st.Restarts, st.LastRestart
	if n != 1 {
		return "", fmt.Errorf("%d restarts, want 1", n)
	}
	if restart > time.Second {
		return "", fmt.Errorf("encoder ready %v after the failure, want within 1s", restart)
	}
	return fmt.Sprintf("restart=%v first_picture_after=%v first_frame=%d iframe=true", restart.Round(time.Millisecond), took.Round(time.Millisecond), first.Seq), nil
}

// vidiocDQBufNumber is VIDIOC_DQBUF for this target.
func vidiocDQBufNumber() uint32 {
	req, _ := v4l2.RequestNumber("VIDIOC_DQBUF")
	return req
}

// withVicodecMplane reloads vicodec as a multi-planar device for run and
// restores the default afterwards.
func withVicodecMplane(run func(context.Context, *env) (string, error)) func(context.Context, *env) (string, error) {
	return func(ctx context.Context, e *env) (string, error) {
		if err := modprobe("-r", "vicodec"); err != nil {
			return "", err
		}
		defer func() {
			modprobe("-r", "vicodec")
			modprobe("vicodec")
		}()
		if err := modprobe("vicodec", "multiplanar=1"); err != nil {
			return "", err
		}
		time.Sleep(200 * time.Millisecond) // devtmpfs creates the nodes
		d, err := run(ctx, e)
		return "mplane=1 " + d, err
	}
}

// modprobe runs busybox modprobe; "-r" removes with rmmod, which says
// why it fails.
func modprobe(args ...string) error {
	name, cmdArgs := "modprobe", args
	if len(args) == 2 && args[0] == "-r" {
		name, cmdArgs = "rmmod", args[1:]
	}
	var out []byte
	var err error
	for try := 0; try < 20; try++ { // a module's last user may go away asynchronously
		if out, err = exec.Command(name, cmdArgs...).CombinedOutput(); err == nil || name != "rmmod" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		mods, _ := os.ReadFile("/proc/modules")
		maps, _ := os.ReadFile("/proc/self/maps")
		fds, _ := os.ReadDir("/proc/self/fd")
		var open []string
		for _, fd := range fds {
			if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil {
				open = append(open, l)
			}
		}
		mods = append(mods, []byte(fmt.Sprintf("\nfds %v\nmaps %d bytes: %s", open, len(maps), grepLines(string(maps), "video")))...)
		return fmt.Errorf("%s %s: %v: %s (modules: %s)", name, strings.Join(cmdArgs, " "), err, strings.TrimSpace(string(out)),
			strings.ReplaceAll(strings.TrimSpace(string(mods)), "\n", "; "))
	}
	return nil
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, " | ")
}
