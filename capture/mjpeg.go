package capture

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
)

// mjpegDecoder turns a camera's MJPEG frames into I420 frames of a fixed
// size, with Go's image/jpeg. The I420 frames come from a pool, but
// image/jpeg cannot decode into a caller's image: every frame allocates
// its decoder and the decoded picture. BenchmarkMJPEGDecode720p, 2026-11,
// Go 1.26, a 4:2:0 JPEG of the test pattern at 1280x720: 5 allocations and
// 1.43 MB per frame, 7 to 21 ms on a shared 2-core amd64 machine. That is
// what the SoC's M2M decoder (M2MDecoder, source.decoder) avoids; forking
// image/jpeg (about 2,000 lines) to reuse the picture was judged not
// worth it. Each frame also keeps a copy of its JPEG (Frame.JPEG) for
// /snapshot.jpg.
type mjpegDecoder struct {
	w, h int
	pool framePool
	rd   bytes.Reader
}

func newMJPEGDecoder(w, h int) *mjpegDecoder {
	d := &mjpegDecoder{w: w, h: h}
	d.pool = framePool{keep: 4, setup: func(f *Frame) { i420Buffers(f, w, h) }}
	return d
}

// DecodeMJPEG decodes one JPEG image into an I420 frame of its size. It is
// what the V4L2 source does with MJPEG cameras, for callers with JPEG
// frames of their own.
func DecodeMJPEG(data []byte) (*Frame, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("capture.DecodeMJPEG: %w", err)
	}
	return newMJPEGDecoder(cfg.Width, cfg.Height).decode(data)
}

// decode decodes data and returns a pooled I420 frame; its Release gives
// it back to the pool.
func (d *mjpegDecoder) decode(data []byte) (*Frame, error) {
	d.rd.Reset(data)
	img, err := jpeg.Decode(&d.rd)
	if err != nil {
		return nil, fmt.Errorf("jpeg: %w", err)
	}
	b := img.Bounds()
	if b.Dx() != d.w || b.Dy() != d.h {
		return nil, fmt.Errorf("jpeg is %dx%d, the camera said %dx%d", b.Dx(), b.Dy(), d.w, d.h)
	}
	f := d.pool.get()
	// Kept for snapshots: a copy costs about 1 % of the decode.
	f.JPEG = append(f.JPEG[:0], data...)
	switch m := img.(type) {
	case *image.YCbCr:
		ycbcrToI420(f, m)
	case *image.Gray:
		copyPlane(f.Planes[0], f.Strides[0], m.Pix, m.Stride, d.w, d.h)
		for _, p := range f.Planes[1:] {
			for i := range p {
				p[i] = 128
			}
		}
	default:
		f.Release()
		return nil, fmt.Errorf("jpeg of %T, want YCbCr or gray", img)
	}
	return f, nil
}

// ycbcrToI420 copies a decoded JPEG into f, subsampling the chroma to
// 4:2:0 (averaging where the JPEG has more).
func ycbcrToI420(f *Frame, m *image.YCbCr) {
	w, h := f.Width, f.Height
	cw, ch := (w+1)/2, (h+1)/2
	copyPlane(f.Planes[0], f.Strides[0], m.Y[m.YOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.YStride, w, h)
	for i, src := range [][]byte{m.Cb, m.Cr} {
		dst, ds := f.Planes[1+i], f.Strides[1+i]
		base := m.COffset(m.Rect.Min.X, m.Rect.Min.Y)
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio420:
			copyPlane(dst, ds, src[base:], m.CStride, cw, ch)
		case image.YCbCrSubsampleRatio422: // full height: average row pairs
			for y := 0; y < ch; y++ {
				r0 := src[base+2*y*m.CStride:]
				r1 := r0
				if 2*y+1 < h {
					r1 = src[base+(2*y+1)*m.CStride:]
				}
				row := dst[y*ds : y*ds+cw]
				for x := range row {
					row[x] = byte((int(r0[x]) + int(r1[x]) + 1) >> 1)
				}
			}
		default: // 4:4:4 and others: sample through the image's own mapping
			for y := 0; y < ch; y++ {
				row := dst[y*ds : y*ds+cw]
				for x := range row {
					off := m.COffset(m.Rect.Min.X+2*x, m.Rect.Min.Y+2*y)
					row[x] = src[off]
				}
			}
		}
	}
}

// copyPlane copies rows rows of n bytes from src (stride ss) to dst
// (stride ds).
func copyPlane(dst []byte, ds int, src []byte, ss, n, rows int) {
	for r := 0; r < rows; r++ {
		copy(dst[r*ds:r*ds+n], src[r*ss:r*ss+n])
	}
}
