package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/config"
	"github.com/camd-project/camd/encode"
	"github.com/camd-project/camd/hw/v4l2"
)

// newSource picks the frame source from the config. "auto" takes the first
// V4L2 camera when there is one and the test pattern otherwise, so camd
// always shows a live picture.
func newSource(ctx context.Context, c config.Source, hw *hardware, log *slog.Logger) (capture.Source, error) {
	switch c.Kind {
	case "tello":
		return hw.telloSource(ctx)
	case "v4l2":
		return newCamera(c, log)
	case "auto":
		if cam := firstCamera(); cam != "" {
			src, err := newCamera(config.Source{Device: cam, Decoder: c.Decoder, Width: c.Width, Height: c.Height, FPS: c.FPS}, log)
			if err == nil {
				return src, nil
			}
			log.Warn("source auto: camera found but not usable; using the test pattern", "device", cam, "err", err)
		} else {
			log.Info("source auto: no camera found, using the test pattern")
		}
		return newPattern(c), nil
	case "pattern":
		return newPattern(c), nil
	case "file":
		return capture.NewFileSource(c.Path, c.FPS)
	case "exec":
		format, ok := execFormats[c.ExecFormat]
		if !ok {
			return nil, fmt.Errorf("source.exec_format %q, want one of %v", c.ExecFormat, config.ExecFormats)
		}
		return capture.NewExec(capture.ExecOptions{
			Command: c.Command, Format: format, Width: c.Width, Height: c.Height, FPS: c.FPS,
			Logger: log.With("component", "exec"),
		})
	default:
		return nil, fmt.Errorf("source.kind %q is not supported by this build", c.Kind)
	}
}

// execFormats maps source.exec_format to what the command writes.
var execFormats = map[string]capture.Format{
	"": capture.H264, "h264": capture.H264, "nv12": capture.NV12, "i420": capture.I420, "yuyv": capture.YUYV,
}

func newPattern(c config.Source) capture.Source {
	return capture.NewPattern(capture.PatternOptions{Width: c.Width, Height: c.Height, FPS: c.FPS, Grain: c.Grain})
}

func newCamera(c config.Source, log *slog.Logger) (capture.Source, error) {
	src, err := capture.NewV4L2(capture.V4L2Options{
		Device: c.Device, Width: c.Width, Height: c.Height, FPS: c.FPS, Decoder: c.Decoder,
		Logger: log.With("component", "camera"),
	})
	if err != nil {
		dev := c.Device
		if dev == "" {
			dev = "(first found)"
		}
		return nil, fmt.Errorf("camera %s: %w", dev, err)
	}
	return src, nil
}

// firstCamera is the path of the first V4L2 capture device, or "".
func firstCamera() string {
	devs, err := v4l2.Enumerate()
	if err != nil {
		return ""
	}
	for _, d := range devs {
		if d.Kind == v4l2.KindCamera && d.Err == "" {
			return d.Path
		}
	}
	return ""
}

// cameraState is "disconnected" while a camera source is away, else "ok".
func cameraState(src capture.Source) string {
	if cam, ok := src.(*capture.V4L2); ok && cam.Status().State == "disconnected" {
		return "disconnected"
	}
	return "ok"
}

// buildEncoder makes camd's encoder; tests replace it to inject faults.
var buildEncoder = newEncoder

// newEncoder builds the configured encoder: a named M2M device is opened
// directly, anything else goes through encode.New's automatic choice.
func newEncoder(c config.Encoder, info capture.Info, log *slog.Logger) (encode.Encoder, error) {
	opts := encode.Options{
		Width:   info.Width,
		Height:  info.Height,
		FPS:     info.FPS,
		Bitrate: int(c.Bitrate),
		GOP:     time.Duration(c.GOP),
	}
	if c.Kind == encode.KindV4L2M2M && c.Device != "" {
		return encode.NewM2M(opts, info, encode.M2MOptions{Device: c.Device, Logger: log.With("component", "encoder")})
	}
	enc, err := encode.New(c.Kind, opts, info)
	if errors.Is(err, encode.ErrNoEncoder) {
		return nil, fmt.Errorf("%w (set encoder.kind, or use a camera that gives H.264)", err)
	}
	return enc, err
}
