package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/hw/v4l2"
)

// probeCase is one check against real drivers. run returns key=value
// details for the PASS line, or why it failed.
type probeCase struct {
	name string
	run  func(ctx context.Context, e *env) (string, error)
	// rec marks the cases made for recording unit-test fixtures; "all"
	// leaves them out.
	rec bool
}

var cases = []probeCase{
	{"devices", caseDevices, false},
	{"vivid-webcam", captureCase("0", 640, 480, 25, 0), false},
	{"vivid-webcam-yuyv", captureCase("Webcam 0", 640, 360, 30, capture.YUYV), false},
	{"vivid-hdmi", captureCase("3", 1280, 720, 30, 0), false},
	{"loopback-h264", caseLoopbackH264, false},
	{"loopback-mjpeg", caseLoopbackMJPEG, false},
	{"unplug-vivid", caseUnplugVivid, false},
	{"unplug-loopback", caseUnplugLoopback, false},
	{"vicodec", caseVicodec, false},
	{"vicodec-restart", caseVicodecRestart, false},
	{"vicodec-mplane", withVicodecMplane(caseVicodec), false},
	{"vicodec-decoder", caseVicodecDecoder, false},
	{"mjpeg-decoder-fallback", caseMJPEGDecoderFallback, false},
	{"zerocopy", caseZeroCopy, false},
	{"zerocopy-inline", caseZeroCopyInline, false},
	{"zerocopy-fallback", caseZeroCopyFallback, false},
	{"bench", caseBench, false},
	{"bench-zerocopy", caseBenchZeroCopy, false},

	{"rec-devices", recDevices, true},
	{"rec-vicodec", recVicodec, true},
	{"rec-vivid", recCapture(capture.V4L2Options{Device: "/dev/video0", Input: "0", Width: 320, Height: 180, FPS: 30, Format: capture.YUYV}, 6), true},
	{"rec-vivid-mplane", withVividMplane(recCapture(capture.V4L2Options{Device: "/dev/video0", Input: "0", Width: 320, Height: 180, FPS: 30, Format: capture.NV12}, 4)), true},
	{"rec-loopback-h264", recWithFeeder(func() (*feeder, error) { return h264Feeder(), nil },
		recCapture(capture.V4L2Options{Device: loopbackPath, Width: 320, Height: 240, FPS: 30}, 10)), true},
	{"rec-loopback-mjpeg", recWithFeeder(func() (*feeder, error) { return mjpegFeeder(320, 240, 4) },
		recCapture(capture.V4L2Options{Device: loopbackPath, Width: 320, Height: 240, FPS: 30}, 4)), true},
	{"rec-unplug", recUnplug, true},
	{"rec-vivid-720", recCapture(capture.V4L2Options{Device: "/dev/video0", Input: "3", Width: 1280, Height: 720, FPS: 30, Format: capture.NV12}, 4), true},
	{"rec-vicodec-720", recVicodec720, true},
	{"rec-vicodec-decoder", recVicodecDecoder, true},
}

func caseNames() []string {
	var n []string
	for _, c := range cases {
		n = append(n, c.name)
	}
	return n
}

// defaultCases are the checks "all" runs: every case but the rec-* ones.
func defaultCases() []probeCase {
	var out []probeCase
	for _, c := range cases {
		if !c.rec {
			out = append(out, c)
		}
	}
	return out
}

func findCase(name string) (probeCase, bool) {
	for _, c := range cases {
		if c.name == name {
			return c, true
		}
	}
	return probeCase{}, false
}

// caseDevices lists the devices and checks that each test driver shows up
// as what it is.
func caseDevices(ctx context.Context, e *env) (string, error) {
	devs, err := v4l2.Enumerate()
	if err != nil {
		return "", err
	}
	var table strings.Builder
	v4l2.WriteTable(&table, devs)
	fmt.Fprint(e.out, table.String())
	var cameras, encoders int
	var vivid, vicodec, loopback bool
	for _, d := range devs {
		switch d.Kind {
		case v4l2.KindCamera:
			cameras++
		case v4l2.KindEncoder:
			encoders++
		}
		switch {
		case d.Driver == "vivid" && d.Kind == v4l2.KindCamera && len(d.Capture) > 0:
			vivid = true
		case d.Driver == "vicodec" && d.Kind == v4l2.KindEncoder:
			vicodec = hasFormat(d.Capture, v4l2.PixFWHT) && hasFormat(d.Output, v4l2.PixYUV420)
		case d.Driver == "v4l2 loopback":
			loopback = true
		}
	}
	var missing []string
	if !vivid {
		missing = append(missing, "vivid camera")
	}
	if !vicodec {
		missing = append(missing, "vicodec encoder (FWHT out, YU12 in)")
	}
	if !loopback {
		missing = append(missing, "v4l2loopback")
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("not found: %s\n%s", strings.Join(missing, ", "), table.String())
	}
	return fmt.Sprintf("nodes=%d cameras=%d encoders=%d", len(devs), cameras, encoders), nil
}

func hasFormat(fs []v4l2.FormatInfo, pixfmt uint32) bool {
	for _, f := range fs {
		if f.PixelFormat == pixfmt {
			return true
		}
	}
	return false
}
