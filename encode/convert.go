package encode

import (
	"encoding/binary"
	"fmt"
	"image"

	"github.com/camd-project/camd/capture"
)

// i420Buf is an I420 picture with tightly packed planes, kept from frame
// to frame so that converting a frame allocates nothing.
type i420Buf struct {
	y, u, v []byte
}

// resize makes the planes fit a w×h picture (w and h even), growing them
// only when the picture grew.
func (b *i420Buf) resize(w, h int) {
	ny, nc := w*h, (w/2)*(h/2)
	if cap(b.y) < ny {
		b.y = make([]byte, ny)
	}
	if cap(b.u) < nc {
		b.u = make([]byte, nc)
		b.v = make([]byte, nc)
	}
	b.y, b.u, b.v = b.y[:ny], b.u[:nc], b.v[:nc]
}

// planeFits reports whether rows rows of rowBytes bytes each, stride bytes
// apart, fit in p.
func planeFits(p []byte, stride, rowBytes, rows int) bool {
	if rows <= 0 || rowBytes <= 0 {
		return true
	}
	return stride >= rowBytes && len(p) >= stride*(rows-1)+rowBytes
}

// toYCbCr points img at an I420 view of f, converting into buf when f is
// not I420 already. An I420 frame is not copied, nor is the luma plane of
// an NV12 frame. f must be w×h with w and h even.
func toYCbCr(img *image.YCbCr, buf *i420Buf, f *capture.Frame, w, h int) error {
	if f.Width != w || f.Height != h {
		return fmt.Errorf("frame %d is %dx%d, encoder is %dx%d: %w", f.Seq, f.Width, f.Height, w, h, ErrBadSize)
	}
	cw, ch := w/2, h/2
	*img = image.YCbCr{SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, w, h)}
	switch f.Format {
	case capture.I420:
		if len(f.Planes) < 3 || len(f.Strides) < 3 ||
			!planeFits(f.Planes[0], f.Strides[0], w, h) ||
			!planeFits(f.Planes[1], f.Strides[1], cw, ch) ||
			!planeFits(f.Planes[2], f.Strides[2], cw, ch) {
			return fmt.Errorf("I420 frame %d (%dx%d): %w", f.Seq, w, h, ErrShortFrame)
		}
		img.Y, img.YStride = f.Planes[0], f.Strides[0]
		if f.Strides[1] == f.Strides[2] {
			img.Cb, img.Cr, img.CStride = f.Planes[1], f.Planes[2], f.Strides[1]
			return nil
		}
		// image.YCbCr has one chroma stride: repack when they differ.
		buf.resize(w, h)
		copyPlane(buf.u, cw, f.Planes[1], f.Strides[1], cw, ch)
		copyPlane(buf.v, cw, f.Planes[2], f.Strides[2], cw, ch)
		img.Cb, img.Cr, img.CStride = buf.u, buf.v, cw
	case capture.NV12:
		if len(f.Planes) < 2 || len(f.Strides) < 2 ||
			!planeFits(f.Planes[0], f.Strides[0], w, h) ||
			!planeFits(f.Planes[1], f.Strides[1], 2*cw, ch) {
			return fmt.Errorf("NV12 frame %d (%dx%d): %w", f.Seq, w, h, ErrShortFrame)
		}
		buf.resize(w, h)
		splitUV(buf.u, buf.v, cw, f.Planes[1], f.Strides[1], cw, ch)
		img.Y, img.YStride = f.Planes[0], f.Strides[0]
		img.Cb, img.Cr, img.CStride = buf.u, buf.v, cw
	case capture.YUYV:
		if len(f.Planes) < 1 || len(f.Strides) < 1 || !planeFits(f.Planes[0], f.Strides[0], 2*w, h) {
			return fmt.Errorf("YUYV frame %d (%dx%d): %w", f.Seq, w, h, ErrShortFrame)
		}
		buf.resize(w, h)
		yuyvToI420(buf.y, buf.u, buf.v, w, cw, f.Planes[0], f.Strides[0], w, h)
		img.Y, img.YStride = buf.y, w
		img.Cb, img.Cr, img.CStride = buf.u, buf.v, cw
	default:
		return fmt.Errorf("frame %d: %v: %w", f.Seq, f.Format, ErrUnsupportedFormat)
	}
	return nil
}

// copyPlane copies rows rows of n bytes from src (stride ss) to dst
// (stride ds).
func copyPlane(dst []byte, ds int, src []byte, ss, n, rows int) {
	for r := 0; r < rows; r++ {
		copy(dst[r*ds:r*ds+n], src[r*ss:r*ss+n])
	}
}

// splitUV splits NV12's interleaved chroma plane (stride uvStride) into
// separate u and v planes of cw×ch samples (stride cs).
func splitUV(u, v []byte, cs int, uv []byte, uvStride, cw, ch int) {
	for r := 0; r < ch; r++ {
		src := uv[r*uvStride : r*uvStride+2*cw]
		ur := u[r*cs : r*cs+cw]
		vr := v[r*cs : r*cs+cw]
		i := 0
		// Four pairs at a time: one 8-byte load, two 4-byte stores.
		for ; i+4 <= len(ur); i += 4 {
			x := binary.LittleEndian.Uint64(src[2*i:])
			binary.LittleEndian.PutUint32(ur[i:], evenBytes(x))
			binary.LittleEndian.PutUint32(vr[i:], evenBytes(x>>8))
		}
		for ; i < len(ur); i++ {
			ur[i], vr[i] = src[2*i], src[2*i+1]
		}
	}
}

// evenBytes packs bytes 0, 2, 4 and 6 of x into a uint32.
func evenBytes(x uint64) uint32 {
	x &= 0x00ff00ff00ff00ff
	x = (x | x>>8) & 0x0000ffff0000ffff
	return uint32(x | x>>16)
}

// yuyvToI420 converts packed 4:2:2 (Y0 U Y1 V, stride ss) to planar 4:2:0,
// averaging (rounding up) the chroma of each pair of rows. w and h must be
// even.
func yuyvToI420(y, u, v []byte, ys, cs int, src []byte, ss, w, h int) {
	for r := 0; r < h/2; r++ {
		s0 := src[2*r*ss : 2*r*ss+2*w]
		s1 := src[(2*r+1)*ss : (2*r+1)*ss+2*w]
		y0 := y[2*r*ys : 2*r*ys+w]
		y1 := y[(2*r+1)*ys : (2*r+1)*ys+w]
		ur := u[r*cs : r*cs+w/2]
		vr := v[r*cs : r*cs+w/2]
		i := 0
		// Eight pixels (four chroma pairs) of both rows per step.
		for ; i+4 <= len(ur); i += 4 {
			s0p, s1p := s0[4*i:4*i+16], s1[4*i:4*i+16]
			a0, a1 := binary.LittleEndian.Uint64(s0p), binary.LittleEndian.Uint64(s0p[8:])
			b0, b1 := binary.LittleEndian.Uint64(s1p), binary.LittleEndian.Uint64(s1p[8:])
			binary.LittleEndian.PutUint64(y0[2*i:], uint64(evenBytes(a0))|uint64(evenBytes(a1))<<32)
			binary.LittleEndian.PutUint64(y1[2*i:], uint64(evenBytes(b0))|uint64(evenBytes(b1))<<32)
			// Chroma bytes U V U V of each row, then their per-byte
			// average rounding up.
			ca := uint64(evenBytes(a0>>8)) | uint64(evenBytes(a1>>8))<<32
			cb := uint64(evenBytes(b0>>8)) | uint64(evenBytes(b1>>8))<<32
			c := (ca | cb) - ((ca ^ cb) >> 1 & 0x7f7f7f7f7f7f7f7f)
			binary.LittleEndian.PutUint32(ur[i:], evenBytes(c))
			binary.LittleEndian.PutUint32(vr[i:], evenBytes(c>>8))
		}
		for ; i < len(ur); i++ {
			a, b := s0[4*i:4*i+4], s1[4*i:4*i+4]
			y0[2*i], y0[2*i+1] = a[0], a[2]
			y1[2*i], y1[2*i+1] = b[0], b[2]
			ur[i] = byte((uint(a[1]) + uint(b[1]) + 1) >> 1)
			vr[i] = byte((uint(a[3]) + uint(b[3]) + 1) >> 1)
		}
	}
}
