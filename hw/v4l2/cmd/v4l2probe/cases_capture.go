package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/camd-project/camd/capture"
)

// captureRun collects what a capture source produced.
type captureRun struct {
	frames            int
	first, last       time.Time
	firstSeq, lastSeq uint64
	gaps              int
	bad               error
}

// collect runs src for d (after its first frame) and checks every frame
// against want.
func collect(ctx context.Context, src capture.Source, want capture.Info, d time.Duration) (*captureRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &captureRun{}
	var stopAt time.Time
	done := make(chan error, 1)
	go func() {
		done <- src.Run(ctx, func(f *capture.Frame) {
			defer f.Release()
			now := time.Now()
			if r.bad == nil {
				r.bad = checkFrame(f, want)
			}
			if r.frames == 0 {
				r.first, r.firstSeq, stopAt = now, f.Seq, now.Add(d)
			} else if f.Seq != r.lastSeq+1 {
				r.gaps++
			}
			r.frames++
			r.last, r.lastSeq = now, f.Seq
			if now.After(stopAt) {
				cancel()
			}
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			return r, err
		}
	case <-time.After(d + 30*time.Second):
		return r, fmt.Errorf("source did not stop")
	}
	if r.bad != nil {
		return r, r.bad
	}
	if r.frames < 2 {
		return r, fmt.Errorf("%d frames", r.frames)
	}
	return r, nil
}

// fps is the rate frames arrived at; cameraFPS the rate the camera
// produced them at, from the sequence numbers (a slow machine drops some
// before camd sees them).
func (r *captureRun) fps() float64 {
	return float64(r.frames-1) / r.last.Sub(r.first).Seconds()
}

func (r *captureRun) cameraFPS() float64 {
	return float64(r.lastSeq-r.firstSeq) / r.last.Sub(r.first).Seconds()
}

func checkFrame(f *capture.Frame, want capture.Info) error {
	if f.Format != want.Format || f.Width != want.Width || f.Height != want.Height {
		return fmt.Errorf("frame %d is %v %dx%d, want %v %dx%d", f.Seq, f.Format, f.Width, f.Height, want.Format, want.Width, want.Height)
	}
	if f.Format.Compressed() {
		if len(f.Planes) != 1 || len(f.Planes[0]) == 0 {
			return fmt.Errorf("frame %d: empty bitstream", f.Seq)
		}
		return nil
	}
	if len(f.Planes) == 0 || len(f.Planes) != len(f.Strides) {
		return fmt.Errorf("frame %d: %d planes, %d strides", f.Seq, len(f.Planes), len(f.Strides))
	}
	if len(f.Planes[0]) < f.Strides[0]*(f.Height-1)+f.Width {
		return fmt.Errorf("frame %d: luma plane of %d bytes for %dx%d at stride %d", f.Seq, len(f.Planes[0]), f.Width, f.Height, f.Strides[0])
	}
	return nil
}

// captureCase captures from vivid's input at a size and rate and checks
// the frames and the measured rate.
func captureCase(input string, w, h int, fps float64, format capture.Format) func(context.Context, *env) (string, error) {
	return func(ctx context.Context, e *env) (string, error) {
		src, err := capture.NewV4L2(capture.V4L2Options{
			Device: "vivid", Input: input, Width: w, Height: h, FPS: fps, Format: format,
			Open: e.open, Logger: e.log,
		})
		if err != nil {
			return "", err
		}
		info := src.Info()
		if info.Width != w || info.Height != h || math.Abs(info.FPS-fps) > 0.01 {
			return "", fmt.Errorf("negotiated %dx%d at %v fps, want %dx%d at %v", info.Width, info.Height, info.FPS, w, h, fps)
		}
		r, err := collect(ctx, src, info, 3*time.Second)
		if err != nil {
			return "", err
		}
		if got := r.cameraFPS(); math.Abs(got-fps)/fps > 0.1 {
			return "", fmt.Errorf("the camera ran at %.1f fps over %d frames, want %v within 10%%", got, r.lastSeq-r.firstSeq, fps)
		}
		// What arrives depends on the machine: under emulation the driver
		// drops frames when camd's goroutine is late to give buffers back.
		if got := r.fps(); got < 0.4*fps {
			return "", fmt.Errorf("%.1f fps arrived (%d frames), want at least 40%% of %v", got, r.frames, fps)
		}
		st := src.Status()
		return fmt.Sprintf("device=%s format=%v size=%dx%d camera_fps=%.1f delivered_fps=%.1f frames=%d dropped=%d",
			st.Device, src.CameraFormat(), info.Width, info.Height, r.cameraFPS(), r.fps(), r.frames, st.Dropped), nil
	}
}
