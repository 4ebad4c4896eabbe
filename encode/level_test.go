package encode

import "testing"

func TestLevelFor(t *testing.T) {
	for _, tc := range []struct {
		w, h    int
		fps     float64
		want    uint8
		bitrate int
	}{
		// The levels openh264 2.1.1 picks for these at moderate bitrates.
		{320, 240, 30, 13, 921_600},
		{640, 480, 30, 30, 12_000_000},
		{1280, 720, 30, 31, 16_800_000},
		{1920, 1080, 30, 40, 24_000_000},
		{64, 48, 30, 10, 76_800},
		{1280, 720, 60, 32, 24_000_000},
		{7680, 4320, 30, 52, 288_000_000},
	} {
		if got := levelFor(tc.w, tc.h, tc.fps); got.idc != tc.want {
			t.Errorf("levelFor(%d, %d, %v) = %d, want %d", tc.w, tc.h, tc.fps, got.idc, tc.want)
		}
		if got := levelBitrate(tc.w, tc.h, tc.fps); got != tc.bitrate {
			t.Errorf("levelBitrate(%d, %d, %v) = %d, want %d", tc.w, tc.h, tc.fps, got, tc.bitrate)
		}
	}
}
