package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/encode"
	"github.com/camd-project/camd/hw/v4l2"
)

// caseBench runs the real path, vivid camera → vicodec, encoding each
// frame as the source hands it on, and measures the steady state: heap
// allocations per frame, and the latency camd adds per frame, from the
// source handing the frame on to the encoded picture, minus the encoder's
// own time. (The Pipeline's queue hand-off between two goroutines, a few
// microseconds, is left out: on a loaded emulated machine its waits behind
// a slow encode would swamp what camd itself does.)
func caseBench(ctx context.Context, e *env) (string, error) { return bench(ctx, e, false) }

// caseBenchZeroCopy is caseBench with vivid's HDMI input at 1280x720,
// whose buffers vicodec imports (DMABUF) instead of camd copying them.
func caseBenchZeroCopy(ctx context.Context, e *env) (string, error) { return bench(ctx, e, true) }

func bench(ctx context.Context, e *env, zeroCopy bool) (string, error) {
	opts := capture.V4L2Options{Device: "vivid", Input: "0", Width: 640, Height: 360, FPS: 10,
		Format: capture.NV12, Open: e.open, Logger: e.log}
	if zeroCopy {
		opts.Input, opts.Width, opts.Height, opts.FPS = "3", 1280, 720, 30
	}
	cam, err := capture.NewV4L2(opts)
	if err != nil {
		return "", err
	}
	info := cam.Info()
	enc, err := encode.NewM2M(encode.Options{Width: info.Width, Height: info.Height, FPS: info.FPS, GOP: time.Second}, info,
		encode.M2MOptions{CodedFormat: v4l2.PixFWHT, Open: e.open, Logger: e.log, CopyFrames: !zeroCopy})
	if err != nil {
		return "", err
	}
	defer enc.Close()
	const warm, frames = 30, 100
	lat := make([]time.Duration, 0, frames)
	dev := make([]time.Duration, 0, frames)
	var before, after runtime.MemStats
	n := 0
	var bad error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err = cam.Run(ctx, func(f *capture.Frame) {
		if n == warm+frames {
			// Frames the source still hands on after cancel (a consumer
			// slower than the camera keeps its dequeue loop going).
			f.Release()
			return
		}
		t0 := time.Now()
		_, ok, err := enc.Encode(f)
		took := time.Since(t0)
		f.Release()
		if err == nil && !ok {
			err = fmt.Errorf("frame %d: no picture", f.Seq)
		}
		if err != nil && bad == nil {
			bad = err
		}
		n++
		switch {
		case n == warm:
			runtime.GC() // the runtime's own first-cycle allocations out of the way
			runtime.ReadMemStats(&before)
		case n > warm && n <= warm+frames:
			d := enc.Stats().DeviceTime
			lat = append(lat, took-d)
			dev = append(dev, d)
			if n == warm+frames {
				runtime.ReadMemStats(&after)
				cancel()
			}
		}
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return "", err
	}
	if len(lat) < frames {
		return "", fmt.Errorf("%d pictures, want %d", n, warm+frames)
	}
	allocs := float64(after.Mallocs-before.Mallocs) / frames
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	sort.Slice(dev, func(i, j int) bool { return dev[i] < dev[j] })
	p := func(d []time.Duration, q float64) time.Duration {
		return d[min(len(d)-1, int(q*float64(len(d))))].Round(time.Microsecond)
	}
	st := enc.Stats()
	return fmt.Sprintf("frames=%d allocs_per_frame=%.2f camd_latency_p50=%v camd_latency_p99=%v encoder_p50=%v copied=%d imported=%d",
		frames, allocs, p(lat, 0.5), p(lat, 0.99), p(dev, 0.5), st.Copied, st.Imported), nil
}

// caseZeroCopy runs vivid's HDMI input (NV12 1280x720) into vicodec
// through the Pipeline: vivid exports its buffers, vicodec imports them,
// and frames must reach the encoder without a copy and come out as valid
// pictures.
func caseZeroCopy(ctx context.Context, e *env) (string, error) {
	cam, err := capture.NewV4L2(capture.V4L2Options{Device: "vivid", Input: "3", Width: 1280, Height: 720, FPS: 30,
		Format: capture.NV12, Open: e.open, Logger: e.log})
	if err != nil {
		return "", err
	}
	info := cam.Info()
	enc, err := encode.NewM2M(encode.Options{Width: info.Width, Height: info.Height, FPS: info.FPS, GOP: time.Second / 3}, info,
		encode.M2MOptions{CodedFormat: v4l2.PixFWHT, Open: e.open, Logger: e.log})
	if err != nil {
		return "", err
	}
	defer enc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n, keys := 0, 0
	var bad error
	var zc bool
	pipe := &encode.Pipeline{Source: cam, Encoder: enc, Logger: e.log, Out: func(au encode.AccessUnit) {
		if _, err := checkFWHT(au, info.Width, info.Height); err != nil && bad == nil {
			bad = err
		}
		n++
		if au.Keyframe {
			keys++
		}
		zc = enc.Stats().ZeroCopy
		if n == 20 {
			cancel()
		}
	}}
	if err := pipe.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return "", err
	}
	st := enc.Stats()
	switch {
	case bad != nil:
		return "", bad
	case n < 20:
		return "", fmt.Errorf("%d pictures (pipeline %+v)", n, pipe.Stats())
	case !zc || st.Copied != 0:
		return "", fmt.Errorf("%d frames copied, %d imported: vivid's DMABUFs did not reach vicodec", st.Copied, st.Imported)
	}
	return fmt.Sprintf("zero_copy=true pictures=%d keyframes=%d copied=%d imported=%d avg_encode=%v",
		n, keys, st.Copied, st.Imported, pipe.Stats().AvgEncode.Round(time.Microsecond)), nil
}
