package capture

import (
	"testing"

	"github.com/camd-project/camd/hw/v4l2"
)

func discrete(sizes ...[2]int) []v4l2.FrameSize {
	var out []v4l2.FrameSize
	for _, s := range sizes {
		out = append(out, v4l2.FrameSize{Type: v4l2.FrmSizeDiscrete, MinWidth: s[0], MaxWidth: s[0], MinHeight: s[1], MaxHeight: s[1]})
	}
	return out
}

func TestNearestSize(t *testing.T) {
	uvc := discrete([2]int{640, 480}, [2]int{1280, 720}, [2]int{1920, 1080}, [2]int{320, 240})
	step := []v4l2.FrameSize{{Type: v4l2.FrmSizeStepwise, MinWidth: 32, MaxWidth: 1920, StepWidth: 16, MinHeight: 32, MaxHeight: 1080, StepHeight: 2}}
	for _, tc := range []struct {
		sizes        []v4l2.FrameSize
		w, h         int
		wantW, wantH int
	}{
		{uvc, 1280, 720, 1280, 720},   // exact
		{uvc, 800, 600, 1280, 720},    // the smallest that holds it
		{uvc, 4000, 3000, 1920, 1080}, // none holds it: the largest
		{step, 1000, 501, 992, 500},   // stepped and clamped
		{step, 4000, 8, 1920, 32},
	} {
		if w, h := nearestSize(tc.sizes, tc.w, tc.h); w != tc.wantW || h != tc.wantH {
			t.Errorf("nearestSize(%dx%d) = %dx%d, want %dx%d", tc.w, tc.h, w, h, tc.wantW, tc.wantH)
		}
	}
}

func TestNearestInterval(t *testing.T) {
	ivs := func(fps ...uint32) []v4l2.FrameInterval {
		var out []v4l2.FrameInterval
		for _, f := range fps {
			fr := v4l2.Fract{Num: 1, Den: f}
			out = append(out, v4l2.FrameInterval{Type: v4l2.FrmSizeDiscrete, Min: fr, Max: fr})
		}
		return out
	}
	for _, tc := range []struct {
		ivs  []v4l2.FrameInterval
		fps  float64
		want float64
	}{
		{ivs(60, 30, 15), 30, 30},
		{ivs(60, 24, 15), 30, 60}, // reach the wanted rate rather than fall short
		{ivs(15, 10, 5), 30, 15},  // nothing reaches it: the closest
		{[]v4l2.FrameInterval{{Type: v4l2.FrmSizeContinuous, Min: v4l2.Fract{Num: 1, Den: 120}, Max: v4l2.Fract{Num: 1, Den: 1}}}, 25, 25},
		{nil, 30, 0},
	} {
		if got := nearestInterval(tc.ivs, tc.fps).FPS(); got != tc.want {
			t.Errorf("nearestInterval(%v fps) = %v, want %v", tc.fps, got, tc.want)
		}
	}
}

func TestBetterCandidate(t *testing.T) {
	opts := V4L2Options{Width: 1280, Height: 720, FPS: 30}
	at := func(f Format, w, h int, fps uint32) candidate {
		return candidate{format: f, width: w, height: h, interval: v4l2.Fract{Num: 1, Den: fps}}
	}
	for _, tc := range []struct {
		name string
		a, b candidate
	}{
		{"H.264 over MJPEG at the same size and rate", at(H264, 1280, 720, 30), at(MJPEG, 1280, 720, 30)},
		{"NV12 over YUYV", at(NV12, 1280, 720, 30), at(YUYV, 1280, 720, 30)},
		{"MJPEG at 30 over YUYV at 10 (USB 2 bandwidth)", at(MJPEG, 1280, 720, 30), at(YUYV, 1280, 720, 10)},
		{"the wanted size over a better format", at(MJPEG, 1280, 720, 30), at(H264, 1920, 1080, 30)},
	} {
		if !better(tc.a, tc.b, opts) || better(tc.b, tc.a, opts) {
			t.Errorf("%s: want a before b", tc.name)
		}
	}
}
