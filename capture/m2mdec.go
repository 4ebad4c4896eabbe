package capture

import (
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"

	"github.com/camd-project/camd/hw/v4l2"
)

// M2MDecoderOptions configure an M2MDecoder. Zero values take the
// documented defaults.
type M2MDecoderOptions struct {
	// Device is the decoder's node, e.g. /dev/video10 (bcm2835-codec's
	// decoder on a Pi); FindM2MDecoder finds one.
	Device string
	// Coded is the bitstream fed in: MJPEG (or the JPEG fourcc), or
	// vicodec's FWHT (v4l2.PixFWHT), which proves the decoder against a
	// real driver in the VM tests.
	Coded Format
	// Width and Height are the expected picture size, a hint for the
	// output queue's buffer size; the decoder reads the real size from
	// the stream.
	Width, Height int
	// OutputBuffers is how many bitstream buffers to ask for (default 2).
	// The capture queue gets the driver's minimum plus CaptureExtra
	// (default 2).
	OutputBuffers, CaptureExtra int
	// Timeout bounds the wait for each decoded picture (default 2 s).
	Timeout time.Duration
	Open    v4l2.OpenFunc // default v4l2.OpenFile
	Logger  *slog.Logger
}

// M2MDecoder decodes a compressed stream into I420 frames with a V4L2
// stateful memory-to-memory decoder, following the kernel's stateful
// decoder interface
// (https://docs.kernel.org/userspace-api/media/v4l/dev-decoder.html):
// the coded format on the output queue, its buffers and streaming, the
// bitstream queued, V4L2_EVENT_SOURCE_CHANGE, then the capture queue set
// up from G_FMT; a later source change (a new size in the stream) is
// met by draining the old capture buffers up to the one flagged LAST and
// setting the queue up again; Drain sends V4L2_DEC_CMD_STOP and Restart
// V4L2_DEC_CMD_START. Each picture is copied out of the driver's buffer
// into a pooled frame, so frames can be held as long as a consumer likes.
//
// It is synchronous: Decode queues one picture and waits for it, which is
// what a camera's MJPEG needs (no reordering). It is not safe for
// concurrent use.
type M2MDecoder struct {
	o                M2MDecoderOptions
	log              *slog.Logger
	dev              *v4l2.Device
	out, cap         *v4l2.Queue
	outType, capType v4l2.BufType
	freeOut          []int
	capFmt           v4l2.Format
	visible          v4l2.Rect
	pool             framePool
	poolW, poolH     int

	queued, done uint64 // pictures queued, and decoded or dropped by the driver
	changes      int    // source changes handled
	changing     bool   // a source change waits for the capture queue's last buffer
	held         []int  // capture buffers kept back: the LAST ones
	closed       bool
	b            v4l2.Buffer
}

// NewM2MDecoder opens the decoder and sets up its output (bitstream) side;
// the capture side follows the first source change.
func NewM2MDecoder(o M2MDecoderOptions) (*M2MDecoder, error) {
	if o.OutputBuffers <= 0 {
		o.OutputBuffers = 2
	}
	if o.CaptureExtra <= 0 {
		o.CaptureExtra = 2
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Open == nil {
		o.Open = v4l2.OpenFile
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 1280, 720
	}
	dev, err := v4l2.OpenWith(o.Open, o.Device)
	if err != nil {
		return nil, fmt.Errorf("capture.NewM2MDecoder: %w", err)
	}
	d := &M2MDecoder{o: o, log: o.Logger, dev: dev}
	if err := d.setupOutput(); err != nil {
		dev.Close()
		return nil, fmt.Errorf("capture.NewM2MDecoder: %s: %w", o.Device, err)
	}
	return d, nil
}

func (d *M2MDecoder) setupOutput() error {
	c := d.dev.Capability()
	if !c.IsM2M() {
		return fmt.Errorf("%s is not a memory-to-memory device: %w", c.Card, v4l2.ErrNoFormat)
	}
	d.outType, d.capType = c.OutputType(), c.CaptureType()
	coded := uint32(d.o.Coded)
	// A compressed picture is rarely above 1 byte per pixel; the driver
	// may round the size as it likes.
	f, err := d.dev.SetFormat(v4l2.Format{Type: d.outType, Width: d.o.Width, Height: d.o.Height, PixelFormat: coded,
		Planes: []v4l2.PlaneFormat{{SizeImage: d.o.Width * d.o.Height}}})
	if err != nil {
		return err
	}
	if f.PixelFormat != coded {
		return fmt.Errorf("the decoder takes %s, not %s: %w", v4l2.FourCC(f.PixelFormat), v4l2.FourCC(coded), v4l2.ErrNoFormat)
	}
	if err := d.dev.SubscribeEvent(v4l2.EventSourceChange, 0); err != nil {
		return err
	}
	if err := d.dev.SubscribeEvent(v4l2.EventEOS, 0); err != nil {
		return err
	}
	if d.out, err = d.dev.RequestBuffers(d.outType, v4l2.MemoryMMAP, d.o.OutputBuffers); err != nil {
		return err
	}
	for i := 0; i < d.out.Len(); i++ {
		d.freeOut = append(d.freeOut, i)
	}
	return d.dev.StreamOn(d.outType)
}

// Size returns the size of the decoded pictures (0x0 before the first).
func (d *M2MDecoder) Size() (w, h int) { return d.visible.Width, d.visible.Height }

// SourceChanges returns how many source changes (the first size, then
// each new one) the decoder went through.
func (d *M2MDecoder) SourceChanges() int { return d.changes }

// Decode queues one compressed picture and returns it decoded as an I420
// frame (its Release gives it back to a pool), or nil when the driver
// flagged the picture as broken.
func (d *M2MDecoder) Decode(data []byte) (*Frame, error) {
	if err := d.queue(data); err != nil {
		return nil, err
	}
	return d.next()
}

// queue copies data into a free bitstream buffer and queues it. The
// timestamp counts pictures, so the decoded buffers say which they are.
func (d *M2MDecoder) queue(data []byte) error {
	idx, err := d.freeOutput()
	if err != nil {
		return err
	}
	m := d.out.Mapped(idx, 0)
	if len(data) > len(m) {
		d.freeOut = append(d.freeOut, idx)
		return fmt.Errorf("capture.M2MDecoder: a picture of %d bytes, the decoder's buffers hold %d: %w", len(data), len(m), v4l2.ErrBadArgument)
	}
	copy(m, data)
	d.queued++
	d.b = v4l2.Buffer{Index: idx, Timestamp: time.Duration(d.queued) * time.Microsecond}
	d.b.Planes[0].BytesUsed = len(data)
	return d.out.Enqueue(&d.b)
}

// next waits for the next decoded picture; nil when the driver has
// answered for every queued picture without one (it flagged it broken).
// It handles source changes on the way.
func (d *M2MDecoder) next() (*Frame, error) {
	deadline := time.Now().Add(d.o.Timeout)
	for {
		if d.cap != nil {
			f, last, err := d.dequeue()
			if err != nil {
				return nil, err
			}
			if last {
				// The source change that came with it may not have been
				// read yet.
				if err := d.events(); err != nil {
					return nil, err
				}
				if !d.changing && f == nil {
					return nil, fmt.Errorf("capture.M2MDecoder: %s stopped (LAST buffer) without a source change: %w", d.o.Device, v4l2.ErrNoFormat)
				}
				if d.changing {
					if err := d.setupCapture(); err != nil {
						return nil, err
					}
				}
			}
			if f != nil {
				return f, nil
			}
			if last {
				continue
			}
		}
		if d.done >= d.queued && !d.changing {
			return nil, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("capture.M2MDecoder: %s: no picture within %v: %w", d.o.Device, d.o.Timeout, v4l2.ErrTimeout)
		}
		rev, err := d.dev.Wait(v4l2.PollIn|v4l2.PollPri, left)
		if err != nil && !errors.Is(err, v4l2.ErrTimeout) {
			return nil, err
		}
		if rev&v4l2.PollPri != 0 {
			if err := d.events(); err != nil {
				return nil, err
			}
		}
	}
}

// events takes the pending events. A source change before the capture
// queue exists sets it up at once; during streaming it waits for the
// capture buffer flagged LAST.
func (d *M2MDecoder) events() error {
	for {
		ev, err := d.dev.DequeueEvent()
		if v4l2.IsAgain(err) {
			return nil
		}
		if err != nil {
			return err
		}
		d.log.Debug("decoder event", "type", ev.Type, "changes", ev.Changes)
		if ev.Type != v4l2.EventSourceChange || ev.Changes&v4l2.SrcChResolution == 0 {
			continue
		}
		if d.cap == nil {
			if err := d.setupCapture(); err != nil {
				return err
			}
			continue
		}
		d.changing = true
	}
}

// dequeue takes one decoded buffer, copies it into a frame and gives the
// buffer back. last reports the buffer flagged LAST (or EPIPE, which
// drivers return once it was taken).
func (d *M2MDecoder) dequeue() (f *Frame, last bool, err error) {
	if err := d.reclaim(); err != nil {
		return nil, false, err
	}
	err = d.cap.Dequeue(&d.b)
	switch {
	case v4l2.IsAgain(err):
		return nil, false, nil
	case errors.Is(err, syscall.EPIPE):
		d.log.Debug("decoder: DQBUF after the LAST buffer (EPIPE)")
		return nil, true, nil
	case err != nil:
		return nil, false, err
	}
	b := &d.b
	last = b.Flags&v4l2.BufFlagLast != 0
	// Every buffer but an empty LAST one (which ends a drain or the old
	// size) answers for a queued picture: decoded, or broken (flagged, or
	// too short), which leaves f nil. The LAST one is kept until Restart,
	// or until the queue is set up again.
	if data := d.cap.Data(b, 0); !last || len(data) > 0 {
		d.done++
		if b.Flags&v4l2.BufFlagError == 0 && len(data) > 0 {
			f = d.copyOut(data)
		}
	}
	if last {
		d.log.Debug("decoder: LAST buffer", "index", b.Index, "bytes", b.Planes[0].BytesUsed)
		d.held = append(d.held, b.Index)
		return f, true, nil
	}
	d.b = v4l2.Buffer{Index: b.Index}
	if err := d.cap.Enqueue(&d.b); err != nil {
		if f != nil {
			f.Release()
		}
		return nil, false, err
	}
	return f, false, nil
}

// copyOut copies the visible picture out of a decoded buffer into a
// pooled I420 frame; nil when the buffer is too short for the format.
func (d *M2MDecoder) copyOut(data []byte) *Frame {
	w, h := d.visible.Width, d.visible.Height
	x0, y0 := d.visible.Left, d.visible.Top
	bpl, rows := d.capFmt.Planes[0].BytesPerLine, d.capFmt.Height
	cbpl := bpl / 2
	ySize := bpl * rows
	need := ySize + ySize/2
	if len(data) < need {
		return nil
	}
	if d.poolW != w || d.poolH != h {
		d.pool = framePool{keep: 4, setup: func(f *Frame) { i420Buffers(f, w, h) }}
		d.poolW, d.poolH = w, h
	}
	f := d.pool.get()
	copyPlane(f.Planes[0], f.Strides[0], data[y0*bpl+x0:], bpl, w, h)
	cw, ch := f.Strides[1], (h+1)/2
	cx, cy := x0/2, y0/2
	switch d.capFmt.PixelFormat {
	case v4l2.PixYUV420:
		u := data[ySize:]
		v := data[ySize+cbpl*rows/2:]
		copyPlane(f.Planes[1], cw, u[cy*cbpl+cx:], cbpl, cw, ch)
		copyPlane(f.Planes[2], cw, v[cy*cbpl+cx:], cbpl, cw, ch)
	case v4l2.PixNV12:
		uv := data[ySize:]
		for r := 0; r < ch; r++ {
			row := uv[(cy+r)*bpl+2*cx:]
			ur, vr := f.Planes[1][r*cw:r*cw+cw], f.Planes[2][r*cw:r*cw+cw]
			for x := range ur {
				ur[x], vr[x] = row[2*x], row[2*x+1]
			}
		}
	}
	return f
}

// i420Buffers gives f compact I420 planes of w×h.
func i420Buffers(f *Frame, w, h int) {
	cw, ch := (w+1)/2, (h+1)/2
	f.Format, f.Width, f.Height = I420, w, h
	f.Planes = [][]byte{make([]byte, w*h), make([]byte, cw*ch), make([]byte, cw*ch)}
	f.Strides = []int{w, cw, cw}
}

// setupCapture (re)creates the capture queue from the format the decoder
// found in the stream: I420 or NV12 (asked for when the decoder picked
// something else), its buffers queued, streaming.
func (d *M2MDecoder) setupCapture() error {
	if d.cap != nil {
		if err := d.dev.StreamOff(d.capType); err != nil {
			return err
		}
		if err := d.cap.Free(); err != nil {
			return err
		}
		d.cap = nil
	}
	d.held = d.held[:0]
	d.changing = false
	d.changes++
	f, err := d.dev.Format(d.capType)
	if err != nil {
		return err
	}
	if f.PixelFormat != v4l2.PixYUV420 && f.PixelFormat != v4l2.PixNV12 {
		for _, want := range []uint32{v4l2.PixYUV420, v4l2.PixNV12} {
			f.PixelFormat = want
			if g, err := d.dev.SetFormat(f); err == nil && g.PixelFormat == want {
				f = g
				break
			}
		}
	}
	if f.PixelFormat != v4l2.PixYUV420 && f.PixelFormat != v4l2.PixNV12 || len(f.Planes) != 1 {
		return fmt.Errorf("the decoder gives %s, camd takes YU12 or NV12 in one plane: %w", f, v4l2.ErrNoFormat)
	}
	d.capFmt = f
	d.visible = v4l2.Rect{Width: f.Width, Height: f.Height}
	if r, err := d.dev.Selection(d.capType, v4l2.SelTgtCompose); err == nil && r.Width > 0 && r.Height > 0 &&
		r.Left+r.Width <= f.Width && r.Top+r.Height <= f.Height {
		d.visible = r
	}
	d.visible.Width &^= 1
	d.visible.Height &^= 1
	n := d.o.CaptureExtra
	if m, err := d.dev.GetControl(v4l2.CIDMinBuffersForCapture); err == nil && m > 0 {
		n += int(m)
	} else {
		n += 2
	}
	if d.cap, err = d.dev.RequestBuffers(d.capType, v4l2.MemoryMMAP, n); err != nil {
		return err
	}
	for i := 0; i < d.cap.Len(); i++ {
		if err := d.cap.Enqueue(&v4l2.Buffer{Index: i}); err != nil {
			return err
		}
	}
	if err := d.dev.StreamOn(d.capType); err != nil {
		return err
	}
	d.log.Info("decoder streaming", "device", d.o.Device, "format", f.String(),
		"visible", fmt.Sprintf("%dx%d", d.visible.Width, d.visible.Height), "buffers", d.cap.Len())
	return nil
}

// freeOutput returns a bitstream buffer the decoder is done with.
func (d *M2MDecoder) freeOutput() (int, error) {
	deadline := time.Now().Add(d.o.Timeout)
	for {
		if err := d.reclaim(); err != nil {
			return 0, err
		}
		if n := len(d.freeOut); n > 0 {
			idx := d.freeOut[n-1]
			d.freeOut = d.freeOut[:n-1]
			return idx, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return 0, fmt.Errorf("capture.M2MDecoder: no bitstream buffer back within %v: %w", d.o.Timeout, v4l2.ErrTimeout)
		}
		if _, err := d.dev.Wait(v4l2.PollOut, left); err != nil && !errors.Is(err, v4l2.ErrTimeout) {
			return 0, err
		}
	}
}

// reclaim dequeues the bitstream buffers the decoder has consumed.
func (d *M2MDecoder) reclaim() error {
	for len(d.freeOut) < d.out.Len() {
		var b v4l2.Buffer
		if err := d.out.Dequeue(&b); err != nil {
			if v4l2.IsAgain(err) {
				return nil
			}
			return err
		}
		d.freeOut = append(d.freeOut, b.Index)
	}
	return nil
}

// Drain sends V4L2_DEC_CMD_STOP and returns the pictures still in the
// decoder, up to the buffer flagged LAST. Restart resumes decoding.
func (d *M2MDecoder) Drain() ([]*Frame, error) {
	if err := d.dev.DecoderCommand(v4l2.DecCmdStop, 0); err != nil {
		return nil, err
	}
	var frames []*Frame
	if d.cap == nil {
		return nil, nil
	}
	deadline := time.Now().Add(d.o.Timeout)
	for {
		f, last, err := d.dequeue()
		if err != nil {
			return frames, err
		}
		if f != nil {
			frames = append(frames, f)
		}
		if last {
			return frames, nil
		}
		if f != nil {
			continue
		}
		left := time.Until(deadline)
		if left <= 0 {
			return frames, fmt.Errorf("capture.M2MDecoder: drain: no LAST buffer within %v: %w", d.o.Timeout, v4l2.ErrTimeout)
		}
		rev, err := d.dev.Wait(v4l2.PollIn|v4l2.PollPri, left)
		if err != nil && !errors.Is(err, v4l2.ErrTimeout) {
			return frames, err
		}
		if rev&v4l2.PollPri != 0 {
			if err := d.events(); err != nil {
				return frames, err
			}
		}
	}
}

// Restart resumes decoding after Drain: V4L2_DEC_CMD_START, then
// STREAMOFF and STREAMON on the capture queue with all its buffers queued
// again, the spec's other way to resume. Both, because vicodec (Linux
// 6.1, vicodec_decoder_cmd) checks v4l2_m2m_has_stopped only after
// v4l2_m2m_decoder_cmd cleared it, so START alone leaves the capture
// queue answering EPIPE.
func (d *M2MDecoder) Restart() error {
	if err := d.dev.DecoderCommand(v4l2.DecCmdStart, 0); err != nil {
		return err
	}
	if d.cap == nil {
		return nil
	}
	if err := d.dev.StreamOff(d.capType); err != nil {
		return err
	}
	d.held = d.held[:0]
	for i := 0; i < d.cap.Len(); i++ {
		if err := d.cap.Enqueue(&v4l2.Buffer{Index: i}); err != nil {
			return err
		}
	}
	return d.dev.StreamOn(d.capType)
}

// Close stops streaming and closes the device. Closing again does
// nothing.
func (d *M2MDecoder) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	if d.cap != nil {
		_ = d.dev.StreamOff(d.capType)
	}
	_ = d.dev.StreamOff(d.outType)
	return d.dev.Close()
}

// FindM2MDecoder returns the first M2M decoder taking coded (for MJPEG
// also one taking JPEG) and giving I420 or NV12, and the fourcc to feed
// it.
func FindM2MDecoder(open v4l2.OpenFunc, coded Format) (string, Format, error) {
	if open == nil {
		open = v4l2.OpenFile
	}
	raw := []uint32{v4l2.PixYUV420, v4l2.PixNV12}
	try := []Format{coded}
	if coded == MJPEG {
		try = append(try, Format(v4l2.PixJPEG))
	}
	var err error
	for _, c := range try {
		var path string
		if path, err = v4l2.FindDecoder(open, uint32(c), raw); err == nil {
			return path, c, nil
		}
	}
	return "", 0, fmt.Errorf("capture.FindM2MDecoder: %w", err)
}
