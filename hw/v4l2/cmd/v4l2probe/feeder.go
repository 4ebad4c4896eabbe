package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"image"
	"image/jpeg"
	"sync"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/hw/v4l2"
)

//go:embed testdata/testsrc-320x240.h264
var testH264 []byte

// loopbackPath is where the VM tests load v4l2loopback (video_nr=40), and
// loopbackCard its card_label.
const (
	loopbackPath = "/dev/video40"
	loopbackCard = "camd-loopback"
)

// feeder writes frames into v4l2loopback's output side at a fixed rate,
// as a camera would deliver them. It opens the device itself, not through
// the case's recorder: it plays the camera, not camd.
type feeder struct {
	pixfmt        uint32
	width, height int
	fps           float64
	frames        [][]byte

	mu      sync.Mutex
	written int
	cancel  context.CancelFunc
	done    chan error
}

// h264Feeder feeds the embedded H.264 stream, one access unit per frame.
func h264Feeder() *feeder {
	return &feeder{pixfmt: v4l2.PixH264, width: 320, height: 240, fps: 30, frames: h264.SplitAccessUnits(testH264)}
}

// mjpegFeeder feeds n JPEG frames of the moving test pattern.
func mjpegFeeder(w, h, n int) (*feeder, error) {
	p := capture.NewPattern(capture.PatternOptions{Width: w, Height: h, FPS: 30})
	f := &feeder{pixfmt: v4l2.PixMJPEG, width: w, height: h, fps: 30}
	for i := 0; i < n; i++ {
		fr := p.Frame(uint64(i), time.Now())
		img := &image.YCbCr{Y: fr.Planes[0], Cb: fr.Planes[1], Cr: fr.Planes[2], YStride: fr.Strides[0], CStride: fr.Strides[1],
			SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, w, h)}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
			return nil, err
		}
		fr.Release()
		f.frames = append(f.frames, b.Bytes())
	}
	return f, nil
}

// start opens the loopback's output side, sets the format and starts
// writing in the background.
func (f *feeder) start() error {
	dev, err := v4l2.Open(loopbackPath)
	if err != nil {
		return err
	}
	maxSize := 0
	for _, fr := range f.frames {
		maxSize = max(maxSize, len(fr))
	}
	got, err := dev.SetFormat(v4l2.Format{Type: v4l2.BufTypeVideoOutput, Width: f.width, Height: f.height, PixelFormat: f.pixfmt,
		Field: v4l2.FieldNone, Planes: []v4l2.PlaneFormat{{SizeImage: maxSize}}})
	if err != nil {
		dev.Close()
		return fmt.Errorf("feeder: %w", err)
	}
	if got.PixelFormat != f.pixfmt || got.Planes[0].SizeImage < maxSize {
		dev.Close()
		return fmt.Errorf("feeder: loopback took %s, want %s with %d-byte frames", got, v4l2.FourCC(f.pixfmt), maxSize)
	}
	if _, err := dev.SetFrameInterval(v4l2.BufTypeVideoOutput, v4l2.Fract{Num: 1000, Den: uint32(f.fps * 1000)}); err != nil {
		dev.Close()
		return fmt.Errorf("feeder: %w", err)
	}
	// The first frame makes the loopback's capture side ready: write it
	// before a reader looks.
	if err := dev.Write(f.frames[0]); err != nil {
		dev.Close()
		return fmt.Errorf("feeder: %w", err)
	}
	f.mu.Lock()
	f.written++
	f.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan error, 1)
	go func() {
		defer dev.Close()
		tick := time.NewTicker(time.Duration(float64(time.Second) / f.fps))
		defer tick.Stop()
		for i := 1; ; i++ {
			if err := dev.Write(f.frames[i%len(f.frames)]); err != nil {
				f.done <- err
				return
			}
			f.mu.Lock()
			f.written++
			f.mu.Unlock()
			select {
			case <-ctx.Done():
				f.done <- nil
				return
			case <-tick.C:
			}
		}
	}()
	return nil
}

// stop stops writing and closes the device.
func (f *feeder) stop() error {
	if f.cancel == nil {
		return nil
	}
	f.cancel()
	f.cancel = nil
	return <-f.done
}

func (f *feeder) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.written
}
