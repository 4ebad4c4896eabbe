package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/capturetest"
	"github.com/camd-project/camd/encode"
	"github.com/camd-project/camd/hw/v4l2"
)

// caseZeroCopyInline: vivid's HDMI input (NV12 1280x720) into vicodec
// with the encoder's default options, each frame encoded from inside the
// camera's callback (where, as of 2026-11, one early run was reported to
// hang in vicodec's QBUF). The frames must reach the encoder as vivid's
// DMABUFs, none copied (the encoder's counters), and the stream must be
// the camera's picture: every picture is decoded by vicodec's decoder and
// compared with a copy of the frame it was encoded from.
func caseZeroCopyInline(ctx context.Context, e *env) (string, error) {
	return zeroCopyInline(ctx, e, -1)
}

// caseZeroCopyFallback is caseZeroCopyInline with the encoder's QBUF of
// frame 5 (vivid's DMABUF) failing with EIO: the encoder says once that
// it copies from now on, the frame is encoded by copy, and so are the
// rest; no picture is lost and every one is still the camera's.
func caseZeroCopyFallback(ctx context.Context, e *env) (string, error) {
	return zeroCopyInline(ctx, e, 5)
}

func zeroCopyInline(ctx context.Context, e *env, faultAt int) (string, error) {
	req, _ := v4l2.RequestNumber("VIDIOC_QBUF")
	fo := &faultOpener{open: e.open, req: req}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(io.MultiWriter(&logs, e.out), nil))
	cam, err := capture.NewV4L2(capture.V4L2Options{Device: "vivid", Input: "3", Width: 1280, Height: 720, FPS: 30,
		Format: capture.NV12, Open: e.open, Logger: e.log})
	if err != nil {
		return "", err
	}
	info := cam.Info()
	enc, err := encode.NewM2M(encode.Options{Width: info.Width, Height: info.Height, FPS: info.FPS, GOP: time.Second / 3}, info,
		encode.M2MOptions{Device: "/dev/video4", CodedFormat: v4l2.PixFWHT, Open: fo.Open, Logger: log})
	if err != nil {
		return "", err
	}
	defer enc.Close()
	dec, err := capture.NewM2MDecoder(capture.M2MDecoderOptions{Device: "/dev/video5", Coded: capture.Format(v4l2.PixFWHT),
		Width: info.Width, Height: info.Height, Open: e.open, Logger: e.log})
	if err != nil {
		return "", err
	}
	defer dec.Close()
	const frames = 20
	n := 0
	minPSNR, maxDiff := 1e9, 0
	var bad error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src := &capture.Frame{}
	err = cam.Run(ctx, func(f *capture.Frame) {
		defer f.Release()
		if bad != nil || n == frames {
			return
		}
		nv12ToI420(src, f)
		fo.armed.Store(n == faultAt)
		au, ok, err := enc.Encode(f)
		if err == nil && !ok {
			err = fmt.Errorf("frame %d: no picture", f.Seq)
		}
		if err == nil {
			var pic *capture.Frame
			if pic, err = dec.Decode(au.Data); err == nil && pic == nil {
				err = fmt.Errorf("frame %d: the decoder flagged the picture as broken", f.Seq)
			}
			if err == nil {
				psnr, diff, cerr := capturetest.Compare(pic, src)
				pic.Release()
				minPSNR, maxDiff, err = min(minPSNR, psnr), max(maxDiff, diff), cerr
				if err == nil && (psnr < 28 || diff > 12) {
					err = fmt.Errorf("frame %d: decoded picture is not the camera's: PSNR %.1f dB, block means up to %d apart", f.Seq, psnr, diff)
				}
			}
		}
		if bad = err; err != nil || n+1 == frames {
			cancel()
		}
		n++
	})
	if err == nil {
		err = bad
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return "", err
	}
	st := enc.Stats()
	fallbacks := strings.Count(logs.String(), "zero-copy failed; copying frames from now on")
	if faultAt < 0 && (n < frames || st.Copied != 0 || st.Imported != frames || !st.ZeroCopy || fallbacks != 0) {
		return "", fmt.Errorf("%d frames, %d copied, %d imported as DMABUFs; want %d, all imported", n, st.Copied, st.Imported, frames)
	}
	if faultAt >= 0 && (n < frames || fo.Fired() != 1 || st.Imported != uint64(faultAt) || st.Copied != uint64(frames-faultAt) ||
		st.ZeroCopy || fallbacks != 1) {
		return "", fmt.Errorf("%d frames, %d faults, %d imported, %d copied, fallback logged %d times; want %d, 1, %d, %d, once",
			n, fo.Fired(), st.Imported, st.Copied, fallbacks, frames, faultAt, frames-faultAt)
	}
	return fmt.Sprintf("frames=%d faults=%d fallback_logged=%d copied=%d imported=%d min_psnr_y=%.1fdB max_block_diff=%d", n, fo.Fired(), fallbacks, st.Copied, st.Imported, minPSNR, maxDiff), nil
}

// nv12ToI420 copies an NV12 frame into dst as compact I420.
func nv12ToI420(dst, f *capture.Frame) {
	w, h := f.Width, f.Height
	cw, ch := w/2, h/2
	if dst.Width != w || dst.Height != h {
		*dst = capture.Frame{Format: capture.I420, Width: w, Height: h, Strides: []int{w, cw, cw},
			Planes: [][]byte{make([]byte, w*h), make([]byte, cw*ch), make([]byte, cw*ch)}}
	}
	for y := 0; y < h; y++ {
		copy(dst.Planes[0][y*w:(y+1)*w], f.Planes[0][y*f.Strides[0]:])
	}
	for y := 0; y < ch; y++ {
		row := f.Planes[1][y*f.Strides[1]:]
		for x := 0; x < cw; x++ {
			dst.Planes[1][y*cw+x], dst.Planes[2][y*cw+x] = row[2*x], row[2*x+1]
		}
	}
}
