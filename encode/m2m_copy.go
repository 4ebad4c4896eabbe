package encode

import (
	"fmt"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/hw/v4l2"
)

// fillOutput copies frame f into an encoder's output buffer dst, laid out
// as raw (YU12, NV12 or YUYV) in one buffer with the driver's stride and
// height (f's planes may have their own strides), converting when f's
// format differs. It returns the bytes used.
func fillOutput(dst []byte, of v4l2.Format, raw uint32, f *capture.Frame, conv *i420Buf) (int, error) {
	w, h := f.Width, f.Height
	stride, rows := of.Planes[0].BytesPerLine, of.Height
	var used int
	switch raw {
	case v4l2.PixYUV420, v4l2.PixNV12:
		used = stride * rows * 3 / 2
	case v4l2.PixYUYV:
		used = stride * rows
	default:
		return 0, fmt.Errorf("output format %s: %w", v4l2.FourCC(raw), ErrUnsupportedFormat)
	}
	if len(dst) < used {
		return 0, fmt.Errorf("output buffer of %d bytes, %s %dx%d stride %d needs %d: %w", len(dst), v4l2.FourCC(raw), w, h, stride, used, ErrBadSize)
	}
	if err := checkFrame(f); err != nil {
		return 0, err
	}
	cw, ch := w/2, h/2
	ySize := stride * rows
	switch {
	case raw == v4l2.PixYUYV && f.Format == capture.YUYV:
		copyPlane(dst, stride, f.Planes[0], f.Strides[0], 2*w, h)
	case raw == v4l2.PixYUV420:
		cs := stride / 2
		y, u, v := dst[:ySize], dst[ySize:ySize+cs*rows/2], dst[ySize+cs*rows/2:used]
		switch f.Format {
		case capture.I420:
			copyPlane(y, stride, f.Planes[0], f.Strides[0], w, h)
			copyPlane(u, cs, f.Planes[1], f.Strides[1], cw, ch)
			copyPlane(v, cs, f.Planes[2], f.Strides[2], cw, ch)
		case capture.NV12:
			copyPlane(y, stride, f.Planes[0], f.Strides[0], w, h)
			splitUV(u, v, cs, f.Planes[1], f.Strides[1], cw, ch)
		case capture.YUYV:
			yuyvToI420(y, u, v, stride, cs, f.Planes[0], f.Strides[0], w, h)
		}
	case raw == v4l2.PixNV12:
		y, uv := dst[:ySize], dst[ySize:used]
		switch f.Format {
		case capture.NV12:
			copyPlane(y, stride, f.Planes[0], f.Strides[0], w, h)
			copyPlane(uv, stride, f.Planes[1], f.Strides[1], w, ch)
		case capture.I420:
			copyPlane(y, stride, f.Planes[0], f.Strides[0], w, h)
			mergeUV(uv, stride, f.Planes[1], f.Strides[1], f.Planes[2], f.Strides[2], cw, ch)
		case capture.YUYV:
			conv.resize(w, h)
			yuyvToI420(y, conv.u, conv.v, stride, cw, f.Planes[0], f.Strides[0], w, h)
			mergeUV(uv, stride, conv.u, cw, conv.v, cw, cw, ch)
		}
	default:
		return 0, fmt.Errorf("%v frames into %s: %w", f.Format, v4l2.FourCC(raw), ErrUnsupportedFormat)
	}
	return used, nil
}

// checkFrame makes sure f's planes hold its picture at its strides.
func checkFrame(f *capture.Frame) error {
	w, h, cw, ch := f.Width, f.Height, f.Width/2, f.Height/2
	ok := false
	switch f.Format {
	case capture.I420:
		ok = len(f.Planes) >= 3 && len(f.Strides) >= 3 &&
			planeFits(f.Planes[0], f.Strides[0], w, h) &&
			planeFits(f.Planes[1], f.Strides[1], cw, ch) &&
			planeFits(f.Planes[2], f.Strides[2], cw, ch)
	case capture.NV12:
		ok = len(f.Planes) >= 2 && len(f.Strides) >= 2 &&
			planeFits(f.Planes[0], f.Strides[0], w, h) &&
			planeFits(f.Planes[1], f.Strides[1], 2*cw, ch)
	case capture.YUYV:
		ok = len(f.Planes) >= 1 && len(f.Strides) >= 1 && planeFits(f.Planes[0], f.Strides[0], 2*w, h)
	default:
		return fmt.Errorf("frame %d: %v: %w", f.Seq, f.Format, ErrUnsupportedFormat)
	}
	if !ok {
		return fmt.Errorf("%v frame %d (%dx%d): %w", f.Format, f.Seq, w, h, ErrShortFrame)
	}
	return nil
}

// mergeUV interleaves separate u and v planes (cw×ch samples) into an
// NV12 chroma plane of stride ds.
func mergeUV(dst []byte, ds int, u []byte, us int, v []byte, vs int, cw, ch int) {
	for r := 0; r < ch; r++ {
		d := dst[r*ds : r*ds+2*cw]
		ur, vr := u[r*us:r*us+cw], v[r*vs:r*vs+cw]
		for i := range ur {
			d[2*i], d[2*i+1] = ur[i], vr[i]
		}
	}
}
