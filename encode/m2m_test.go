package encode

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"syscall"
	"testing"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/hw/v4l2"
	"github.com/camd-project/camd/hw/v4l2/v4l2test"
)

type frameClock struct{ t time.Time }

func (c *frameClock) Now() time.Time { return c.t }

// TestM2MVicodecReplay replays rec-vicodec (hw/v4l2/cmd/v4l2probe,
// cases_record.go), recorded on vicodec in the VM: the calls below must be
// the case's, one for one. It covers set-up in the documented order, the
// missing bitrate and keyframe controls, a keyframe forced by restarting,
// an EIO from DQBUF (injected under the recorder) and the restart after
// RestartEvery, the GOP, and the drain.
func TestM2MVicodecReplay(t *testing.T) {
	p := v4l2test.Load(t, "testdata/m2m-vicodec.json.gz")
	clock := &frameClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	opts := Options{Width: 640, Height: 360, FPS: 30, GOP: time.Second / 2, Bitrate: 1_000_000}
	enc, err := NewM2M(opts, capture.Info{Format: capture.I420, Width: 640, Height: 360, FPS: 30},
		M2MOptions{Device: "/dev/video4", CodedFormat: v4l2.PixFWHT, Open: p.Open, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	pat := capture.NewPattern(capture.PatternOptions{Width: 640, Height: 360, FPS: 30})
	var keys, dropped, failed []uint64
	for seq := uint64(0); seq < 16; seq++ {
		clock.t = clock.t.Add(100 * time.Millisecond)
		switch seq {
		case 3:
			enc.SetBitrate(500_000)
		case 10:
			enc.ForceKeyframe()
		}
		f := pat.Frame(seq, clock.t)
		au, ok, err := enc.Encode(f)
		f.Release()
		switch {
		case err != nil:
			if !errors.Is(err, syscall.EIO) {
				t.Errorf("frame %d: %v, want the recorded EIO", seq, err)
			}
			failed = append(failed, seq)
			continue
		case !ok:
			dropped = append(dropped, seq)
			continue
		}
		h, err := ParseFWHT(au.Data)
		if err != nil {
			t.Fatalf("frame %d: %v", seq, err)
		}
		if h.Width != 640 || h.Height != 360 || au.Seq != seq || !au.Time.Equal(clock.t) {
			t.Errorf("frame %d: %dx%d, seq %d, time %v; want 640x360, its own seq and capture time", seq, h.Width, h.Height, au.Seq, au.Time)
		}
		if au.Keyframe {
			keys = append(keys, seq)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	n := enc.Stats().Restarts
	got := fmt.Sprintf("iframes=%v failed=%v dropped=%v restarts=%d", keys, failed, dropped, n)
	if want := "iframes=[0 10 13] failed=[11] dropped=[12] restarts=2"; got != want {
		t.Errorf("%s, want %s", got, want)
	}
	if _, _, err := enc.Encode(pat.Frame(16, clock.t)); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close = %v, want ErrClosed", err)
	}
}

func fwhtPicture(flags uint32, data []byte) []byte {
	b := make([]byte, FWHTHeaderSize, FWHTHeaderSize+len(data))
	copy(b, []byte{0x4f, 0x4f, 0x4f, 0x4f, 0xff, 0xff, 0xff, 0xff})
	be := func(off int, v uint32) {
		b[off], b[off+1], b[off+2], b[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	be(8, 3)
	be(12, 640)
	be(16, 360)
	be(20, flags)
	be(40, uint32(len(data)))
	return append(b, data...)
}

func TestParseFWHT(t *testing.T) {
	h, err := ParseFWHT(fwhtPicture(fwhtIFrame|1<<19, []byte{1, 2, 3}))
	if err != nil || !h.IFrame() || h.Width != 640 || h.Height != 360 || h.Size != 3 || h.Version != 3 {
		t.Errorf("ParseFWHT = %+v, %v", h, err)
	}
	if h, err := ParseFWHT(fwhtPicture(0, nil)); err != nil || h.IFrame() {
		t.Errorf("P-frame: %+v, %v", h, err)
	}
	bad := map[string][]byte{
		"short":     make([]byte, 10),
		"no magic":  append(make([]byte, 8), fwhtPicture(0, nil)[8:]...),
		"truncated": fwhtPicture(0, []byte{1, 2, 3})[:FWHTHeaderSize+1],
		"version 9": func() []byte { b := fwhtPicture(0, nil); b[11] = 9; return b }(),
	}
	for name, b := range bad {
		if _, err := ParseFWHT(b); !errors.Is(err, ErrBitstream) {
			t.Errorf("%s: err = %v, want ErrBitstream", name, err)
		}
	}
}

// testFrame makes a w×h frame of format f whose planes have padded
// strides, filled with a pattern that tells samples apart.
func testFrame(f capture.Format, w, h int) *capture.Frame {
	fr := &capture.Frame{Format: f, Width: w, Height: h}
	plane := func(rowBytes, rows, seed int) {
		stride := rowBytes + 7
		p := make([]byte, stride*rows)
		for r := 0; r < rows; r++ {
			for c := 0; c < rowBytes; c++ {
				p[r*stride+c] = byte(seed + 3*r + c)
			}
		}
		fr.Planes, fr.Strides = append(fr.Planes, p), append(fr.Strides, stride)
	}
	switch f {
	case capture.I420:
		plane(w, h, 0)
		plane(w/2, h/2, 100)
		plane(w/2, h/2, 200)
	case capture.NV12:
		plane(w, h, 0)
		plane(w, h/2, 100)
	case capture.YUYV:
		plane(2*w, h, 0)
	}
	return fr
}

// i420Of returns f as tight I420 planes, by the package's own
// conversions, to compare encoder buffers with.
func i420Of(t *testing.T, f *capture.Frame) (y, u, v []byte) {
	t.Helper()
	var buf i420Buf
	img := new(image.YCbCr)
	if err := toYCbCr(img, &buf, f, f.Width, f.Height); err != nil {
		t.Fatal(err)
	}
	w, h := f.Width, f.Height
	y, u, v = make([]byte, w*h), make([]byte, w*h/4), make([]byte, w*h/4)
	copyPlane(y, w, img.Y, img.YStride, w, h)
	copyPlane(u, w/2, img.Cb, img.CStride, w/2, h/2)
	copyPlane(v, w/2, img.Cr, img.CStride, w/2, h/2)
	return
}

func TestFillOutput(t *testing.T) {
	const w, h = 64, 36
	for _, tc := range []struct {
		src    capture.Format
		raw    uint32
		stride int
		rows   int
	}{
		{capture.I420, v4l2.PixYUV420, 64, 36},
		{capture.I420, v4l2.PixYUV420, 128, 48}, // bcm2835-like: stride aligned to 64, height to 16
		{capture.NV12, v4l2.PixYUV420, 96, 40},
		{capture.YUYV, v4l2.PixYUV420, 64, 36},
		{capture.NV12, v4l2.PixNV12, 96, 36},
		{capture.I420, v4l2.PixNV12, 64, 40},
		{capture.YUYV, v4l2.PixNV12, 64, 36},
		{capture.YUYV, v4l2.PixYUYV, 160, 36},
	} {
		t.Run(fmt.Sprintf("%v-%s-%dx%d", tc.src, v4l2.FourCC(tc.raw), tc.stride, tc.rows), func(t *testing.T) {
			f := testFrame(tc.src, w, h)
			of := v4l2.Format{Width: w, Height: tc.rows, PixelFormat: tc.raw, Planes: []v4l2.PlaneFormat{{BytesPerLine: tc.stride}}}
			dst := make([]byte, tc.stride*tc.rows*2)
			var conv i420Buf
			n, err := fillOutput(dst, of, tc.raw, f, &conv)
			if err != nil {
				t.Fatal(err)
			}
			if tc.raw == v4l2.PixYUYV {
				if n != tc.stride*tc.rows {
					t.Errorf("used %d bytes, want %d", n, tc.stride*tc.rows)
				}
				for r := 0; r < h; r++ {
					if !bytes.Equal(dst[r*tc.stride:r*tc.stride+2*w], f.Planes[0][r*f.Strides[0]:r*f.Strides[0]+2*w]) {
						t.Fatalf("row %d differs", r)
					}
				}
				return
			}
			if n != tc.stride*tc.rows*3/2 {
				t.Errorf("used %d bytes, want %d", n, tc.stride*tc.rows*3/2)
			}
			wy, wu, wv := i420Of(t, f)
			ySize := tc.stride * tc.rows
			for r := 0; r < h; r++ {
				if !bytes.Equal(dst[r*tc.stride:r*tc.stride+w], wy[r*w:(r+1)*w]) {
					t.Fatalf("luma row %d differs", r)
				}
			}
			for r := 0; r < h/2; r++ {
				var gu, gv []byte
				if tc.raw == v4l2.PixYUV420 {
					cs := tc.stride / 2
					gu = dst[ySize+r*cs : ySize+r*cs+w/2]
					off := ySize + cs*tc.rows/2
					gv = dst[off+r*cs : off+r*cs+w/2]
				} else {
					row := dst[ySize+r*tc.stride : ySize+r*tc.stride+w]
					for i := 0; i < w/2; i++ {
						gu, gv = append(gu, row[2*i]), append(gv, row[2*i+1])
					}
				}
				if !bytes.Equal(gu, wu[r*w/2:(r+1)*w/2]) || !bytes.Equal(gv, wv[r*w/2:(r+1)*w/2]) {
					t.Fatalf("chroma row %d differs", r)
				}
			}
		})
	}
}

func TestFillOutputErrors(t *testing.T) {
	f := testFrame(capture.I420, 64, 36)
	of := v4l2.Format{Width: 64, Height: 36, PixelFormat: v4l2.PixYUV420, Planes: []v4l2.PlaneFormat{{BytesPerLine: 64}}}
	var conv i420Buf
	if _, err := fillOutput(make([]byte, 100), of, v4l2.PixYUV420, f, &conv); !errors.Is(err, ErrBadSize) {
		t.Errorf("small buffer: %v, want ErrBadSize", err)
	}
	f.Planes[1] = f.Planes[1][:10]
	if _, err := fillOutput(make([]byte, 64*36*2), of, v4l2.PixYUV420, f, &conv); !errors.Is(err, ErrShortFrame) {
		t.Errorf("short plane: %v, want ErrShortFrame", err)
	}
	if _, err := fillOutput(make([]byte, 64*36*2), of, v4l2.PixH264, testFrame(capture.I420, 64, 36), &conv); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("H.264 output: %v, want ErrUnsupportedFormat", err)
	}
}

// TestM2MAccessUnitH264 feeds the bitstream handling what H.264 encoders
// send: the parameter sets in a buffer of their own, then the IDR; a P
// picture the driver flags KEYFRAME; garbage. Keyframes come from the
// bitstream.
func TestM2MAccessUnitH264(t *testing.T) {
	e := &M2M{mo: M2MOptions{CodedFormat: v4l2.PixH264}}
	e.remember(time.Microsecond, &capture.Frame{Seq: 7, Time: time.Unix(7, 0)})
	e.buf = append(e.buf[:0], annexB(testSPS, testPPS)...)
	if _, ok, err := e.accessUnit(time.Microsecond, 0); ok || err != nil {
		t.Fatalf("parameter sets alone: ok %v, err %v; want to wait for the picture", ok, err)
	}
	e.buf = append(e.buf[:0], annexB(testIDR)...)
	au, ok, err := e.accessUnit(time.Microsecond, 0)
	if err != nil || !ok || !au.Keyframe || au.Seq != 7 || !au.Time.Equal(time.Unix(7, 0)) {
		t.Fatalf("IDR: %+v ok %v err %v; want keyframe of frame 7", au, ok, err)
	}
	if !bytes.Equal(au.Data, annexB(testSPS, testPPS, testIDR)) {
		t.Errorf("IDR access unit %v, want SPS, PPS, IDR", nalTypes(au.Data))
	}
	e.buf = append(e.buf[:0], annexB(testP)...)
	if au, ok, err := e.accessUnit(0, v4l2.BufFlagKeyframe); err != nil || !ok || au.Keyframe {
		t.Errorf("P picture flagged KEYFRAME by the driver: keyframe %v ok %v err %v; the bitstream decides", au.Keyframe, ok, err)
	}
	e.buf = append(e.buf[:0], 1, 2, 3)
	if _, _, err := e.accessUnit(0, 0); !errors.Is(err, ErrBitstream) {
		t.Errorf("garbage: %v, want ErrBitstream", err)
	}
}

func TestSameLayout(t *testing.T) {
	nv12 := v4l2.Format{Width: 1280, Height: 720, PixelFormat: v4l2.PixNV12, Planes: []v4l2.PlaneFormat{{BytesPerLine: 1280, SizeImage: 1280 * 720 * 3 / 2}}}
	frame := func(f capture.Format, h int, strides ...int) *capture.Frame {
		return &capture.Frame{Format: f, Width: 1280, Height: h, Strides: strides}
	}
	big := capture.DMABuf{FD: 3, Size: 1280 * 720 * 3 / 2}
	for _, tc := range []struct {
		name string
		f    *capture.Frame
		raw  uint32
		of   v4l2.Format
		d    capture.DMABuf
		want bool
	}{
		{"same", frame(capture.NV12, 720, 1280, 1280), v4l2.PixNV12, nv12, big, true},
		{"other stride", frame(capture.NV12, 720, 1344, 1344), v4l2.PixNV12, nv12, big, false},
		{"encoder height aligned", frame(capture.NV12, 720, 1280, 1280), v4l2.PixNV12, func() v4l2.Format { f := nv12; f.Height = 736; return f }(), big, false},
		{"other format", frame(capture.I420, 720, 1280, 640, 640), v4l2.PixNV12, nv12, big, false},
		{"buffer too small", frame(capture.NV12, 720, 1280, 1280), v4l2.PixNV12, nv12, capture.DMABuf{FD: 3, Size: 100}, false},
		{"I420", frame(capture.I420, 720, 1280, 640, 640), v4l2.PixYUV420, func() v4l2.Format { f := nv12; f.PixelFormat = v4l2.PixYUV420; return f }(), big, true},
	} {
		if got := sameLayout(tc.f, tc.raw, tc.of, tc.d); got != tc.want {
			t.Errorf("%s: sameLayout = %v, want %v", tc.name, got, tc.want)
		}
	}
}
