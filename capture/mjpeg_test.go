package capture

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
	"time"
)

// patternJPEG is a frame of the test pattern as a 4:2:0 JPEG, what a UVC
// camera sends in MJPEG mode.
func patternJPEG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	f := NewPattern(PatternOptions{Width: w, Height: h, FPS: 30}).Frame(7, time.Unix(0, 0))
	defer f.Release()
	img := &image.YCbCr{Y: f.Planes[0], Cb: f.Planes[1], Cr: f.Planes[2], YStride: f.Strides[0], CStride: f.Strides[1],
		SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, w, h)}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// BenchmarkMJPEGDecode720p measures the software MJPEG path per camera
// frame at 1280x720: image/jpeg's decode and the copy into a pooled I420
// frame. image/jpeg has no way to decode into a caller's image, so each
// frame allocates its decoder and the decoded picture (see the numbers in
// mjpeg.go).
func BenchmarkMJPEGDecode720p(b *testing.B) {
	data := patternJPEG(b, 1280, 720)
	d := newMJPEGDecoder(1280, 720)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f, err := d.decode(data)
		if err != nil {
			b.Fatal(err)
		}
		f.Release()
	}
}
