package encode

import (
	"fmt"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/hw/v4l2"
)

// Zero-copy states: frames go to the encoder as the camera's own DMABUFs
// (zcOn) or are copied into the encoder's buffers (zcOff); zcUnknown
// until the first frame tells.
const (
	zcUnknown = iota
	zcOn
	zcOff
)

// tryZeroCopy decides on the first frame whether frames can go to the
// encoder without a copy: the camera exports its buffers
// (capture.FrameDMABuf) and the frame is laid out as the encoder wants its
// input (format, stride, plane offsets). It then restarts the session with
// a DMABUF output queue.
func (e *M2M) tryZeroCopy(f *capture.Frame) {
	if e.zc != zcUnknown || e.s == nil {
		return
	}
	e.zc = zcOff
	d, ok := capture.FrameDMABuf(f)
	if e.mo.CopyFrames || !ok || !sameLayout(f, e.raw, e.s.outFmt, d) {
		return
	}
	e.stop()
	e.zc = zcOn
	if err := e.start(); err != nil {
		e.log.Info("encoder refuses DMABUF input; copying frames", "device", e.path, "err", err)
		e.zc = zcOff
		e.lastStart = time.Time{} // start again at once, copying
		return
	}
	e.log.Info("frames go to the encoder without a copy (DMABUF)", "device", e.path)
}

// sameLayout reports whether frame f, in a DMABUF of d.Size bytes, is laid
// out as the encoder's output format of wants its pictures: one buffer,
// planes one after the other at the encoder's stride and height.
func sameLayout(f *capture.Frame, raw uint32, of v4l2.Format, d capture.DMABuf) bool {
	if len(of.Planes) != 1 || d.Size < of.Planes[0].SizeImage || f.Height != of.Height || len(f.Strides) == 0 {
		return false
	}
	stride := of.Planes[0].BytesPerLine
	switch raw {
	case v4l2.PixYUV420:
		return f.Format == capture.I420 && len(f.Strides) == 3 &&
			f.Strides[0] == stride && f.Strides[1] == stride/2 && f.Strides[2] == stride/2
	case v4l2.PixNV12:
		return f.Format == capture.NV12 && len(f.Strides) == 2 && f.Strides[0] == stride && f.Strides[1] == stride
	case v4l2.PixYUYV:
		return f.Format == capture.YUYV && f.Strides[0] == stride
	}
	return false
}

// queueDMABuf queues frame f by its DMABUF on output buffer idx. The
// encoder reads the camera's memory: encodeDMABuf waits for the buffer to
// come back before the frame may be released.
func (s *m2mSession) queueDMABuf(e *M2M, f *capture.Frame, idx int, ts time.Duration) error {
	d, ok := capture.FrameDMABuf(f)
	if !ok || !sameLayout(f, e.raw, s.outFmt, d) {
		s.importFailed = true
		return fmt.Errorf("frame %d has no DMABUF laid out for the encoder: %w", f.Seq, ErrUnsupportedFormat)
	}
	s.b = v4l2.Buffer{Index: idx, Timestamp: ts, Field: v4l2.FieldNone}
	s.b.Planes[0] = v4l2.BufferPlane{BytesUsed: s.outFmt.Planes[0].SizeImage, FD: d.FD, Length: d.Size}
	if err := s.out.Enqueue(&s.b); err != nil {
		s.importFailed = !s.imported // the driver cannot import this kind of buffer
		return err
	}
	s.imported = true
	e.imported++
	return nil
}

// awaitOutput waits until output buffer idx is back from the encoder, so
// that the camera's memory it read is free again.
func (s *m2mSession) awaitOutput(idx int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := s.reclaim(); err != nil {
			return err
		}
		for _, i := range s.freeOut {
			if i == idx {
				return nil
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("output buffer %d not back from the encoder within %v: %w", idx, timeout, v4l2.ErrTimeout)
		}
		if _, err := s.dev.Wait(v4l2.PollOut, left); err != nil && err != v4l2.ErrTimeout {
			return err
		}
	}
}
