package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/encode/vicodectest"
	"github.com/camd-project/camd/hw/v4l2"
)

// The M2M decoder is camd's way to MJPEG on a Pi (bcm2835-codec's
// decoder takes MJPG). vicodec has a stateful decoder too, for FWHT: the
// same code, given FWHT, goes through the whole stateful decoder
// lifecycle on a real driver.

// caseVicodecDecoder finds vicodec's decoder by its formats (FWHT in,
// YU12 or NV12 out) and runs it at 1280x720 then 640x360.
func caseVicodecDecoder(ctx context.Context, e *env) (string, error) {
	dec, coded, err := capture.FindM2MDecoder(e.open, capture.Format(v4l2.PixFWHT))
	if err != nil {
		return "", err
	}
	encPath, err := v4l2.FindEncoder(e.open, v4l2.PixFWHT)
	if err != nil {
		return "", err
	}
	res, err := vicodectest.RoundTrip{Encoder: encPath, Decoder: dec, Sizes: [2][2]int{{1280, 720}, {640, 360}}, N: 10, Logger: e.log}.Run(ctx, e.open)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("decoder=%s coded=%v %v", dec, coded, res), nil
}

// recVicodecDecoder is the small run capture/m2mdec_test.go replays:
// 640x360 (vicodec's smallest) then 800x480, 2 pictures each, on
// /dev/video4 and /dev/video5.
func recVicodecDecoder(ctx context.Context, e *env) (string, error) {
	res, err := vicodectest.RoundTrip{Encoder: "/dev/video4", Decoder: "/dev/video5", Sizes: [2][2]int{{640, 360}, {800, 480}}, N: 2, Logger: e.log}.Run(ctx, e.open)
	if err != nil {
		return "", err
	}
	return res.String(), nil
}

// caseMJPEGDecoderFallback: a camera sending MJPEG (the loopback, fed
// JPEGs) with the decoder named (vicodec's, which takes FWHT, not MJPEG)
// and then found automatically (there is no MJPEG decoder in the VM):
// each time the source says so once and decodes in software, and the
// frames keep coming.
func caseMJPEGDecoderFallback(ctx context.Context, e *env) (string, error) {
	fd, err := mjpegFeeder(640, 480, 30)
	if err != nil {
		return "", err
	}
	if err := fd.start(); err != nil {
		return "", err
	}
	defer fd.stop()
	var out []string
	for _, c := range []struct{ decoder, msg string }{
		{"/dev/video5", "hardware MJPEG decoder not usable; decoding in software"},
		{capture.DecoderAuto, "no hardware MJPEG decoder; decoding in software"},
	} {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(io.MultiWriter(&logs, e.out), nil))
		src, err := capture.NewV4L2(capture.V4L2Options{Device: loopbackCard, Width: 640, Height: 480, FPS: 30,
			Decoder: c.decoder, Open: e.open, Logger: log})
		if err != nil {
			return "", err
		}
		frames := 0
		var bad error
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err = src.Run(rctx, func(f *capture.Frame) {
			if f.Format != capture.I420 || f.Width != 640 || f.Height != 480 {
				bad = fmt.Errorf("decoder %s: frame %v %dx%d, want I420 640x480", c.decoder, f.Format, f.Width, f.Height)
			}
			f.Release()
			if frames++; frames == 20 || bad != nil {
				cancel()
			}
		})
		cancel()
		if err != nil {
			return "", err
		}
		if bad != nil {
			return "", bad
		}
		if frames < 20 {
			return "", fmt.Errorf("decoder %s: %d frames", c.decoder, frames)
		}
		if n := strings.Count(logs.String(), c.msg); n != 1 {
			return "", fmt.Errorf("decoder %s: %q logged %d times, want once; log:\n%s", c.decoder, c.msg, n, logs.String())
		}
		out = append(out, fmt.Sprintf("%s:software_fallback_logged_once,frames=%d", c.decoder, frames))
	}
	return strings.Join(out, " "), nil
}
