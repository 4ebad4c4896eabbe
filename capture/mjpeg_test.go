package capture

import (
	"bytes"
	"image"
	"image/jpeg"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/camd-project/camd/hw/v4l2"
	"github.com/camd-project/camd/hw/v4l2/v4l2test"
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

// TestMJPEGHardwareFallback: a hardware decoder that fails at run time
// (here one whose recorded answers stop matching once it is fed JPEG
// instead of the FWHT it was recorded with) hands over to image/jpeg for
// good: every frame still decodes, the failure is logged once, and the
// decoder is closed and not asked again.
func TestMJPEGHardwareFallback(t *testing.T) {
	ex, err := v4l2test.ReadFile("testdata/m2m-vicodec-decoder.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	p, err := v4l2test.Playback(ex)
	if err != nil {
		t.Skip(err)
	}
	dec, err := NewM2MDecoder(M2MDecoderOptions{Device: "/dev/video5", Coded: Format(v4l2.PixFWHT), Width: 640, Height: 360, Open: p.Open})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s := &V4L2{log: slog.New(slog.NewTextHandler(&logs, nil)), neg: negotiated{width: 640, height: 360, pixfmt: MJPEG},
		mjpeg: newMJPEGDecoder(640, 360)}
	sess := &v4l2Session{s: s, dec: dec}
	data := patternJPEG(t, 640, 360)
	for i := range 3 {
		f, err := sess.decodeMJPEG(data)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Format != I420 || f.Width != 640 || f.Height != 360 {
			t.Fatalf("frame %d: %v %dx%d", i, f.Format, f.Width, f.Height)
		}
		f.Release()
	}
	if n := strings.Count(logs.String(), "hardware MJPEG decoder failed; decoding in software from now on"); n != 1 || sess.dec != nil || !s.hwDecFailed.Load() {
		t.Errorf("fallback logged %d times, decoder %v, failed %v; want once, closed, true\n%s", n, sess.dec, s.hwDecFailed.Load(), logs.String())
	}
	s.opts.Decoder = "/dev/video10"
	s.opts.Open = func(path string) (v4l2.Conn, error) {
		t.Errorf("a new session opens %s again after the hardware decoder failed", path)
		return nil, v4l2.ErrNotFound
	}
	if s.openDecoder() != nil {
		t.Error("a new session has a hardware decoder after it failed")
	}
}
