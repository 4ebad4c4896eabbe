package encode

import (
	"errors"
	"image"
	"testing"

	"github.com/camd-project/camd/capture"
)

// fill gives every byte of p a value that depends on its position, so a
// sample read from the wrong place shows.
func fill(p []byte, seed int) {
	for i := range p {
		p[i] = byte(i*7 + seed*13 + i/251)
	}
}

func nv12Frame(w, h, pad int) *capture.Frame {
	ys, uvs := w+pad, w+pad
	y := make([]byte, ys*h)
	uv := make([]byte, uvs*h/2)
	fill(y, 1)
	fill(uv, 2)
	return &capture.Frame{Format: capture.NV12, Width: w, Height: h, Planes: [][]byte{y, uv}, Strides: []int{ys, uvs}}
}

func yuyvFrame(w, h, pad int) *capture.Frame {
	s := 2*w + pad
	p := make([]byte, s*h)
	fill(p, 3)
	return &capture.Frame{Format: capture.YUYV, Width: w, Height: h, Planes: [][]byte{p}, Strides: []int{s}}
}

func TestToYCbCrNV12(t *testing.T) {
	const w, h = 70, 48 // 35 chroma columns: the tail loop runs too
	f := nv12Frame(w, h, 16)
	var img image.YCbCr
	var buf i420Buf
	if err := toYCbCr(&img, &buf, f, w, h); err != nil {
		t.Fatal(err)
	}
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			if got, want := img.Y[img.YOffset(c, r)], f.Planes[0][r*f.Strides[0]+c]; got != want {
				t.Fatalf("Y(%d,%d) = %d, want %d", c, r, got, want)
			}
		}
	}
	for r := 0; r < h/2; r++ {
		for c := 0; c < w/2; c++ {
			o := img.COffset(2*c, 2*r)
			uv := f.Planes[1][r*f.Strides[1]+2*c:]
			if img.Cb[o] != uv[0] || img.Cr[o] != uv[1] {
				t.Fatalf("chroma(%d,%d) = %d,%d, want %d,%d", c, r, img.Cb[o], img.Cr[o], uv[0], uv[1])
			}
		}
	}
}

func TestToYCbCrYUYV(t *testing.T) {
	const w, h = 70, 48
	f := yuyvFrame(w, h, 8)
	var img image.YCbCr
	var buf i420Buf
	if err := toYCbCr(&img, &buf, f, w, h); err != nil {
		t.Fatal(err)
	}
	s, p := f.Strides[0], f.Planes[0]
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			if got, want := img.Y[img.YOffset(c, r)], p[r*s+2*c]; got != want {
				t.Fatalf("Y(%d,%d) = %d, want %d", c, r, got, want)
			}
		}
	}
	for r := 0; r < h/2; r++ {
		for c := 0; c < w/2; c++ {
			o := img.COffset(2*c, 2*r)
			a, b := p[2*r*s+4*c:], p[(2*r+1)*s+4*c:]
			wantU := byte((int(a[1]) + int(b[1]) + 1) / 2)
			wantV := byte((int(a[3]) + int(b[3]) + 1) / 2)
			if img.Cb[o] != wantU || img.Cr[o] != wantV {
				t.Fatalf("chroma(%d,%d) = %d,%d, want %d,%d", c, r, img.Cb[o], img.Cr[o], wantU, wantV)
			}
		}
	}
}

func TestToYCbCrI420(t *testing.T) {
	const w, h = 32, 16
	y, u, v := make([]byte, w*h), make([]byte, 24*h/2), make([]byte, 20*h/2)
	fill(y, 4)
	fill(u, 5)
	fill(v, 6)
	f := &capture.Frame{Format: capture.I420, Width: w, Height: h, Planes: [][]byte{y, u, v}, Strides: []int{w, 24, 20}}
	var img image.YCbCr
	var buf i420Buf
	if err := toYCbCr(&img, &buf, f, w, h); err != nil {
		t.Fatal(err)
	}
	if &img.Y[0] != &y[0] {
		t.Error("I420 luma was copied, want it used in place")
	}
	for r := 0; r < h/2; r++ {
		for c := 0; c < w/2; c++ {
			o := img.COffset(2*c, 2*r)
			if img.Cb[o] != u[r*24+c] || img.Cr[o] != v[r*20+c] {
				t.Fatalf("chroma(%d,%d) = %d,%d, want %d,%d", c, r, img.Cb[o], img.Cr[o], u[r*24+c], v[r*20+c])
			}
		}
	}
	// Equal chroma strides: no copy at all.
	f.Planes[2], f.Strides[2] = make([]byte, 24*h/2), 24
	if err := toYCbCr(&img, &buf, f, w, h); err != nil {
		t.Fatal(err)
	}
	if &img.Cb[0] != &u[0] {
		t.Error("I420 chroma was copied, want it used in place")
	}
}

func TestToYCbCrErrors(t *testing.T) {
	var img image.YCbCr
	var buf i420Buf
	short := nv12Frame(64, 48, 0)
	short.Planes[1] = short.Planes[1][:len(short.Planes[1])-1]
	narrow := yuyvFrame(64, 48, 0)
	narrow.Strides[0] = 100
	for _, tc := range []struct {
		name string
		f    *capture.Frame
		want error
	}{
		{"short chroma", short, ErrShortFrame},
		{"stride below width", narrow, ErrShortFrame},
		{"no planes", &capture.Frame{Format: capture.I420, Width: 64, Height: 48}, ErrShortFrame},
		{"size", nv12Frame(32, 48, 0), ErrBadSize},
		{"format", &capture.Frame{Format: capture.MJPEG, Width: 64, Height: 48, Planes: [][]byte{{1}}}, ErrUnsupportedFormat},
	} {
		if err := toYCbCr(&img, &buf, tc.f, 64, 48); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func benchConvert(b *testing.B, f *capture.Frame) {
	var img image.YCbCr
	var buf i420Buf
	if err := toYCbCr(&img, &buf, f, f.Width, f.Height); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(f.Width * f.Height * 3 / 2))
	for b.Loop() {
		if err := toYCbCr(&img, &buf, f, f.Width, f.Height); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNV12ToI420_720p(b *testing.B) { benchConvert(b, nv12Frame(1280, 720, 0)) }
func BenchmarkYUYVToI420_720p(b *testing.B) { benchConvert(b, yuyvFrame(1280, 720, 0)) }
