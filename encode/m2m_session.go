package encode

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/hw/v4l2"
)

// m2mSession is one open encoder device, streaming, from start to close.
type m2mSession struct {
	dev              *v4l2.Device
	out, cap         *v4l2.Queue
	outType, capType v4l2.BufType
	outFmt, capFmt   v4l2.Format
	coded            uint32
	interval         time.Duration // nominal frame interval, for timestamps
	freeOut          []int         // output buffers the encoder has given back
	streaming        bool

	hasBitrate, hasForceKey bool
	// fatal is set by encode when the device failed for good: the encoder
	// restarts.
	fatal bool
	ready time.Time // when result dequeued the last picture

	// dmabuf: the output queue imports the camera's buffers; imported
	// once one went through; importFailed when the first did not.
	dmabuf, imported, importFailed bool

	b v4l2.Buffer // scratch, so that encoding allocates nothing
}

// start opens the device and sets it up in the documented order: coded
// format on the capture queue, raw format on the output queue, frame
// rate, controls, buffers, streaming.
func (e *M2M) start() error {
	e.lastStart = e.mo.Now()
	dev, err := v4l2.OpenWith(e.mo.Open, e.path)
	if err != nil {
		return fmt.Errorf("v4l2m2m: %w", err)
	}
	s := &m2mSession{dev: dev, coded: e.mo.CodedFormat}
	if err := e.setup(s); err != nil {
		s.close()
		return fmt.Errorf("v4l2m2m: %s: %w", e.path, err)
	}
	e.s = s
	return nil
}

func (e *M2M) setup(s *m2mSession) error {
	c := s.dev.Capability()
	if !c.IsM2M() {
		return fmt.Errorf("%s (%s) is not a memory-to-memory device: %w", e.path, c.Card, ErrUnsupportedFormat)
	}
	s.outType, s.capType = c.OutputType(), c.CaptureType()
	w, h := e.opts.Width, e.opts.Height

	capFmt, err := s.dev.SetFormat(v4l2.Format{Type: s.capType, Width: w, Height: h, PixelFormat: s.coded,
		Planes: []v4l2.PlaneFormat{{}}})
	if err != nil {
		return err
	}
	if capFmt.PixelFormat != s.coded {
		return fmt.Errorf("the encoder produces %s, not %s: %w", v4l2.FourCC(capFmt.PixelFormat), v4l2.FourCC(s.coded), ErrUnsupportedFormat)
	}
	s.capFmt = capFmt

	raw, err := e.pickRaw(s)
	if err != nil {
		return err
	}
	outFmt, err := s.dev.SetFormat(v4l2.Format{Type: s.outType, Width: w, Height: h, PixelFormat: raw, Field: v4l2.FieldNone,
		Planes: []v4l2.PlaneFormat{{}}})
	if err != nil {
		return err
	}
	if outFmt.PixelFormat != raw || outFmt.Width < w || outFmt.Height < h || len(outFmt.Planes) == 0 {
		return fmt.Errorf("asked for %s %dx%d, the encoder offers %s: %w", v4l2.FourCC(raw), w, h, outFmt, ErrBadSize)
	}
	if len(outFmt.Planes) != 1 {
		return fmt.Errorf("the encoder wants %s in %d separate planes, camd fills one buffer: %w", v4l2.FourCC(raw), len(outFmt.Planes), ErrUnsupportedFormat)
	}
	if err := checkLayout(raw, outFmt); err != nil {
		return err
	}
	s.outFmt = outFmt
	e.raw = raw
	if outFmt.Width != w || outFmt.Height != h {
		// The driver aligned the buffers: tell it which part is the
		// picture, so the stream says w×h (H.264 frame cropping).
		r, err := s.dev.SetSelection(s.outType, v4l2.SelTgtCrop, v4l2.Rect{Width: w, Height: h})
		if err != nil || r.Width != w || r.Height != h {
			e.noteMissing(v4l2.SelTgtCrop|1<<31, "crop to the visible size (S_SELECTION)", err)
		}
	}

	fps := e.opts.FPS
	s.interval = time.Duration(float64(time.Second) / fps)
	if _, err := s.dev.SetFrameInterval(s.outType, v4l2.Fract{Num: 1000, Den: uint32(math.Round(fps * 1000))}); err != nil {
		e.noteMissing(0, "frame rate (S_PARM)", err)
	}

	e.setControls(s)

	mem := v4l2.MemoryMMAP
	if e.zc == zcOn {
		mem, s.dmabuf = v4l2.MemoryDMABUF, true
	}
	if s.out, err = s.dev.RequestBuffers(s.outType, mem, e.mo.OutputBuffers); err != nil {
		return err
	}
	if s.cap, err = s.dev.RequestBuffers(s.capType, v4l2.MemoryMMAP, e.mo.CaptureBuffers); err != nil {
		return err
	}
	for i := 0; i < s.cap.Len(); i++ {
		s.b = v4l2.Buffer{Index: i}
		if err := s.cap.Enqueue(&s.b); err != nil {
			return err
		}
	}
	for i := 0; i < s.out.Len(); i++ {
		s.freeOut = append(s.freeOut, i)
	}
	if err := s.dev.StreamOn(s.outType); err != nil {
		return err
	}
	s.streaming = true
	if err := s.dev.StreamOn(s.capType); err != nil {
		return err
	}
	return nil
}

// pickRaw chooses the raw format to feed: the source's own when the
// encoder takes it, else I420, else NV12, which the frames are converted
// to.
func (e *M2M) pickRaw(s *m2mSession) (uint32, error) {
	descs, err := s.dev.Formats(s.outType)
	if err != nil {
		return 0, err
	}
	offered := map[uint32]bool{}
	for _, d := range descs {
		offered[d.PixelFormat] = true
	}
	for _, f := range []uint32{uint32(e.src.Format), v4l2.PixYUV420, v4l2.PixNV12} {
		if offered[f] && (f == v4l2.PixYUV420 || f == v4l2.PixNV12 || f == v4l2.PixYUYV) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("the encoder takes none of %v, I420, NV12: %w", e.src.Format, ErrUnsupportedFormat)
}

// checkLayout makes sure the buffer the driver asks for holds the planes
// at the stride it chose.
func checkLayout(raw uint32, f v4l2.Format) error {
	p := f.Planes[0]
	need := 0
	switch raw {
	case v4l2.PixYUV420, v4l2.PixNV12:
		need = p.BytesPerLine * f.Height * 3 / 2
	case v4l2.PixYUYV:
		need = p.BytesPerLine * f.Height
	}
	if p.BytesPerLine < f.Width || p.SizeImage < need {
		return fmt.Errorf("output format %s: stride %d, %d bytes for %d needed: %w", f, p.BytesPerLine, p.SizeImage, need, ErrBadSize)
	}
	return nil
}

// encode queues f and waits for its encoded picture.
func (s *m2mSession) encode(e *M2M, f *capture.Frame) (AccessUnit, bool, error) {
	idx, err := s.freeOutput(e.mo.Timeout)
	if err != nil {
		s.fatal = true
		return AccessUnit{}, false, err
	}
	ts := time.Duration(f.Seq+1) * s.interval.Truncate(time.Microsecond)
	e.remember(ts, f)
	// The encoder's time starts with QBUF: some (vicodec) encode within it.
	var queued time.Time
	if s.dmabuf {
		queued = time.Now()
		if err := s.queueDMABuf(e, f, idx, ts); err != nil {
			s.freeOut = append(s.freeOut, idx)
			s.fatal = !s.importFailed
			return AccessUnit{}, false, err
		}
	} else {
		n, err := fillOutput(s.out.Mapped(idx, 0), s.outFmt, e.raw, f, &e.convBuf)
		if err != nil {
			s.freeOut = append(s.freeOut, idx)
			return AccessUnit{}, false, err
		}
		e.copied++
		s.b = v4l2.Buffer{Index: idx, Timestamp: ts, Field: v4l2.FieldNone}
		s.b.Planes[0].BytesUsed = n
		queued = time.Now()
		if err := s.out.Enqueue(&s.b); err != nil {
			s.fatal = true
			return AccessUnit{}, false, err
		}
	}
	au, ok, err := s.result(e)
	if ok {
		e.deviceTime = s.ready.Sub(queued)
	}
	if s.dmabuf && err == nil {
		if werr := s.awaitOutput(idx, e.mo.Timeout); werr != nil {
			s.fatal = true
			return AccessUnit{}, false, werr
		}
	}
	return au, ok, err
}

// freeOutput returns an output buffer the encoder is done with, waiting
// for one when it holds them all.
func (s *m2mSession) freeOutput(timeout time.Duration) (int, error) {
	if err := s.reclaim(); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(timeout)
	for len(s.freeOut) == 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return 0, fmt.Errorf("no output buffer back from the encoder within %v: %w", timeout, v4l2.ErrTimeout)
		}
		if _, err := s.dev.Wait(v4l2.PollOut, left); err != nil && !errors.Is(err, v4l2.ErrTimeout) {
			return 0, err
		}
		if err := s.reclaim(); err != nil {
			return 0, err
		}
	}
	idx := s.freeOut[len(s.freeOut)-1]
	s.freeOut = s.freeOut[:len(s.freeOut)-1]
	return idx, nil
}

// reclaim dequeues every output buffer the encoder is done with.
func (s *m2mSession) reclaim() error {
	for len(s.freeOut) < s.out.Len() {
		var b v4l2.Buffer
		if err := s.out.Dequeue(&b); err != nil {
			if v4l2.IsAgain(err) {
				return nil
			}
			return err
		}
		s.freeOut = append(s.freeOut, b.Index)
	}
	return nil
}
