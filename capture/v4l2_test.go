package capture_test

import (
	"bytes"
	"context"
	"image/jpeg"
	"os"
	"testing"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/blockcode"
	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/hw/v4l2/v4l2test"
)

// The replays below repeat the rec-* cases of hw/v4l2/cmd/v4l2probe
// (cases_record.go), recorded in the VM on vivid and v4l2loopback; the
// calls must be the case's, one for one.

// replayCapture runs a source over a recording until n frames came,
// checking each with check, and returns the source.
func replayCapture(t *testing.T, file string, opts capture.V4L2Options, n int, check func(*capture.Frame)) *capture.V4L2 {
	t.Helper()
	p := v4l2test.Load(t, file)
	opts.Open = p.Open
	src, err := capture.NewV4L2(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := 0
	err = src.Run(ctx, func(f *capture.Frame) {
		check(f)
		f.Release()
		got++
		if got == n {
			cancel()
		}
	})
	if err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if got != n {
		t.Errorf("%d frames, want %d", got, n)
	}
	return src
}

func TestV4L2VividYUYV(t *testing.T) {
	var seqs []uint64
	src := replayCapture(t, "testdata/v4l2-vivid.json.gz",
		capture.V4L2Options{Device: "/dev/video0", Input: "0", Width: 320, Height: 180, FPS: 30, Format: capture.YUYV}, 6,
		func(f *capture.Frame) {
			seqs = append(seqs, f.Seq)
			if f.Format != capture.YUYV || f.Width != 320 || f.Height != 180 || len(f.Planes) != 1 || f.Strides[0] != 640 || len(f.Planes[0]) != 640*180 {
				t.Fatalf("frame %d: %v %dx%d, %d planes, strides %v", f.Seq, f.Format, f.Width, f.Height, len(f.Planes), f.Strides)
			}
			// vivid draws colour bars: the luma of the first and the
			// last bar differ.
			if row := f.Planes[0][90*640:]; row[0] == row[2*300] {
				t.Errorf("frame %d: no colour bars (luma %d and %d)", f.Seq, row[0], row[600])
			}
			if f.Time.IsZero() {
				t.Errorf("frame %d has no time", f.Seq)
			}
		})
	if info := src.Info(); info.Format != capture.YUYV || info.Width != 320 || info.Height != 180 || info.FPS != 30 || info.Name != "/dev/video0 (vivid)" {
		t.Errorf("Info = %+v", info)
	}
	for i, s := range seqs {
		if s != uint64(i) {
			t.Errorf("sequence %v, want 0..5", seqs)
			break
		}
	}
	if st := src.Status(); st.State != capture.StateStreaming || st.Frames != 6 {
		t.Errorf("Status = %+v, want streaming with 6 frames", st)
	}
}

func TestV4L2VividMultiplanarNV12(t *testing.T) {
	replayCapture(t, "testdata/v4l2-vivid-mplane.json.gz",
		capture.V4L2Options{Device: "/dev/video0", Input: "0", Width: 320, Height: 180, FPS: 30, Format: capture.NV12}, 4,
		func(f *capture.Frame) {
			if f.Format != capture.NV12 || len(f.Planes) != 2 || f.Strides[0] != 320 || f.Strides[1] != 320 ||
				len(f.Planes[0]) != 320*180 || len(f.Planes[1]) != 320*90 {
				t.Fatalf("frame %d: %v, %d planes, strides %v", f.Seq, f.Format, len(f.Planes), f.Strides)
			}
		})
}

// TestV4L2LoopbackH264 replays v4l2loopback fed with testsrc-320x240.h264:
// every frame is one of the file's access units, whole and in order, and
// IDRs are keyframes.
func TestV4L2LoopbackH264(t *testing.T) {
	b, err := os.ReadFile("testdata/testsrc-320x240.h264")
	if err != nil {
		t.Fatal(err)
	}
	aus := h264.SplitAccessUnits(b)
	next := -1
	src := replayCapture(t, "testdata/v4l2-loopback-h264.json.gz",
		capture.V4L2Options{Device: "/dev/video40", Width: 320, Height: 240, FPS: 30}, 10,
		func(f *capture.Frame) {
			if f.Format != capture.H264 || len(f.Planes) != 1 {
				t.Fatalf("frame %d: %v with %d planes", f.Seq, f.Format, len(f.Planes))
			}
			found := -1
			for k := 0; k < len(aus); k++ {
				i := (next + 1 + k) % len(aus)
				if bytes.Equal(f.Planes[0], aus[i]) {
					found = i
					break
				}
			}
			if found < 0 {
				t.Fatalf("frame %d (%d bytes) is none of the file's access units", f.Seq, len(f.Planes[0]))
			}
			if f.Keyframe != h264.IsKeyframe(aus[found]) {
				t.Errorf("frame %d: Keyframe %v for access unit %d", f.Seq, f.Keyframe, found)
			}
			next = found
		})
	if src.Info().Format != capture.H264 || src.CameraFormat() != capture.H264 {
		t.Errorf("Info %+v, camera %v; want H264 passed through", src.Info(), src.CameraFormat())
	}
}

// TestV4L2LoopbackMJPEG replays v4l2loopback fed with JPEGs of the test
// pattern: the source decodes them to I420, and the pattern's block code
// reads back as the frame the feeder sent.
func TestV4L2LoopbackMJPEG(t *testing.T) {
	var codes []uint32
	src := replayCapture(t, "testdata/v4l2-loopback-mjpeg.json.gz",
		capture.V4L2Options{Device: "/dev/video40", Width: 320, Height: 240, FPS: 30}, 4,
		func(f *capture.Frame) {
			if f.Format != capture.I420 || f.Width != 320 || f.Height != 240 || len(f.Planes) != 3 {
				t.Fatalf("frame %d: %v %dx%d", f.Seq, f.Format, f.Width, f.Height)
			}
			c, err := blockcode.Read(f.Planes[0], f.Strides[0], f.Width, f.Height)
			if err != nil {
				t.Fatalf("frame %d: block code: %v", f.Seq, err)
			}
			codes = append(codes, c.Seq)
			// The camera's JPEG rides along, for snapshots.
			if cfg, err := jpeg.DecodeConfig(bytes.NewReader(f.JPEG)); err != nil || cfg.Width != 320 || cfg.Height != 240 {
				t.Fatalf("frame %d: Frame.JPEG: %v %+v", f.Seq, err, cfg)
			}
		})
	if src.CameraFormat() != capture.MJPEG || src.Info().Format != capture.I420 {
		t.Errorf("camera %v, frames %v; want MJPEG decoded to I420", src.CameraFormat(), src.Info().Format)
	}
	for i := 1; i < len(codes); i++ {
		if codes[i] != (codes[i-1]+1)%4 && codes[i] != codes[i-1] {
			t.Errorf("block codes %v: the feeder sent frames 0..3 in a loop", codes)
			break
		}
	}
}

// TestV4L2Unplug replays vivid unbound under a streaming source and bound
// again: DQBUF fails with ENODEV, the node is gone (open ENOENT), then it
// is back. The source reports disconnected, keeps going and streams again.
func TestV4L2Unplug(t *testing.T) {
	p := v4l2test.Load(t, "testdata/v4l2-unplug.json.gz")
	src, err := capture.NewV4L2(capture.V4L2Options{Device: "/dev/video0", Input: "0", Width: 320, Height: 180, FPS: 30,
		Format: capture.YUYV, Open: p.Open, RetryEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var states []string
	frames := 0
	done := make(chan error, 1)
	go func() {
		done <- src.Run(ctx, func(f *capture.Frame) {
			if st := src.Status().State; len(states) == 0 || states[len(states)-1] != st {
				states = append(states, st)
			}
			f.Release()
			frames++
		})
	}()
	select {
	case <-p.Interrupted(): // where the recording was stopped
	case err := <-done:
		t.Fatalf("Run returned %v before the end of the recording", err)
	case <-time.After(10 * time.Second):
		t.Fatal("replay stuck")
	}
	st := src.Status()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if frames != 6 || st.Reconnects != 1 || st.State != capture.StateStreaming {
		t.Errorf("%d frames, status %+v; want 6 frames and streaming after 1 reconnect", frames, st)
	}
}
