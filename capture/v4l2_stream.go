package capture

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/hw/v4l2"
)

// errStalled says that the camera sent no frame for StallTimeout.
var errStalled = errors.New("capture: camera sent no frame")

// v4l2Session is one open, streaming camera. Its buffers' memory is handed
// to the consumer in frames; the session closes (unmaps and closes the
// device) only once the loop has ended and every frame is back.
type v4l2Session struct {
	s      *V4L2
	dev    *v4l2.Device
	q      *v4l2.Queue
	stride int
	frames []*Frame // one per buffer
	give   []func() // OnRelease of each buffer's frame

	exported bool // the buffers are DMABUFs too (FrameDMABuf)
	// dec is the hardware MJPEG decoder, used by the loop only; nil
	// decodes in software.
	dec *M2MDecoder

	mu     sync.Mutex
	held   int  // frames the consumer has
	done   bool // the loop has ended: buffers coming back are not queued
	closed bool

	b       v4l2.Buffer
	lastSeq uint32
	haveSeq bool
	// mono is CLOCK_MONOTONIC read at monoAt, to place buffer timestamps
	// on Go's clock without a system call per frame.
	mono   time.Duration
	monoAt time.Time
}

// start sets the negotiated format (again), maps the buffers, queues them
// and starts streaming.
func (s *V4L2) start(dev *v4l2.Device) (*v4l2Session, error) {
	neg := s.neg
	if err := apply(dev, &neg); err != nil {
		return nil, err
	}
	t := dev.Capability().CaptureType()
	f, err := dev.Format(t)
	if err != nil {
		return nil, err
	}
	if len(f.Planes) != 1 {
		return nil, fmt.Errorf("%s in %d planes, camd takes one: %w", f, len(f.Planes), ErrNoCamera)
	}
	q, err := dev.RequestBuffers(t, v4l2.MemoryMMAP, s.opts.Buffers)
	if err != nil {
		return nil, err
	}
	sess := &v4l2Session{s: s, dev: dev, q: q, stride: f.Planes[0].BytesPerLine}
	for i := 0; i < q.Len(); i++ {
		idx := i
		sess.frames = append(sess.frames, &Frame{Format: neg.pixfmt, Width: neg.width, Height: neg.height})
		sess.give = append(sess.give, func() { sess.release(idx) })
		sess.b = v4l2.Buffer{Index: i}
		if err := q.Enqueue(&sess.b); err != nil {
			q.Free()
			return nil, err
		}
	}
	sess.export()
	if err := dev.StreamOn(t); err != nil {
		sess.unexport()
		q.Free()
		return nil, err
	}
	if m := v4l2.MonotonicNow(); m != 0 {
		sess.mono, sess.monoAt = m, time.Now()
	}
	sess.dec = s.openDecoder()
	return sess, nil
}

// loop dequeues frames and hands them on until ctx is done (nil) or the
// camera fails (the reason).
func (sess *v4l2Session) loop(ctx context.Context, emit func(*Frame)) error {
	s := sess.s
	for {
		if ctx.Err() != nil {
			return nil
		}
		if s.keyframe.Swap(false) {
			sess.dev.SetControl(v4l2.CIDForceKeyFrame, 1) // cameras without the control send periodic IDRs
		}
		rev, err := sess.dev.Wait(v4l2.PollIn, s.opts.StallTimeout)
		switch {
		case errors.Is(err, v4l2.ErrInterrupted):
			continue
		case errors.Is(err, v4l2.ErrTimeout):
			return fmt.Errorf("%w for %v", errStalled, s.opts.StallTimeout)
		case err != nil:
			return err
		}
		got := 0
		for {
			err := sess.q.Dequeue(&sess.b)
			if v4l2.IsAgain(err) {
				break
			}
			if err != nil {
				return err
			}
			got++
			sess.handle(emit)
			if ctx.Err() != nil {
				// A consumer slower than the camera (encoding inside emit)
				// would otherwise keep this loop dequeuing for ever.
				return nil
			}
		}
		if got == 0 && rev&v4l2.PollErr != 0 {
			return fmt.Errorf("%s: the driver reports an error and has no frame: %w", sess.dev.Path(), errStalled)
		}
	}
}

// handle turns the dequeued buffer into a frame and emits it, or gives the
// buffer straight back when it is bad or its data was decoded.
func (sess *v4l2Session) handle(emit func(*Frame)) {
	s := sess.s
	b := &sess.b
	idx := b.Index
	if sess.haveSeq && b.Sequence > sess.lastSeq+1 {
		gap := uint64(b.Sequence - sess.lastSeq - 1)
		s.dropped.Add(gap)
		s.seq.Add(gap)
	}
	sess.lastSeq, sess.haveSeq = b.Sequence, true
	now := s.opts.Clock.Now()
	if b.Flags&v4l2.BufFlagTimestampMonotonic != 0 && !sess.monoAt.IsZero() {
		// When the driver captured it, not when camd got it: the buffer's
		// CLOCK_MONOTONIC time on the time line of monoAt, which carries
		// Go's monotonic reading (CLOCK_MONOTONIC too).
		if t := sess.monoAt.Add(b.Timestamp - sess.mono); !t.After(now) && now.Sub(t) < time.Second {
			now = t
		}
	}
	data := sess.q.Data(b, 0)
	if b.Flags&v4l2.BufFlagError != 0 || len(data) == 0 {
		s.dropped.Add(1)
		sess.requeue(idx)
		return
	}
	f := sess.frames[idx]
	switch {
	case s.mjpeg != nil:
		out, err := sess.decodeMJPEG(data)
		sess.requeue(idx)
		if err != nil {
			s.dropped.Add(1)
			s.log.Debug("MJPEG frame not decoded", "err", err)
			return
		}
		out.Seq, out.Time = s.seq.Add(1)-1, now
		emit(out)
		return
	case f.Format == H264:
		// Some drivers (v4l2loopback's first buffers) report the whole
		// buffer as used: the zeros after the access unit are padding
		// (trailing_zero_8bits), and a NAL unit never ends in a zero byte.
		for len(data) > 0 && data[len(data)-1] == 0 {
			data = data[:len(data)-1]
		}
		if len(data) == 0 {
			s.dropped.Add(1)
			sess.requeue(idx)
			return
		}
		f.Planes = append(f.Planes[:0], data)
		f.Strides = f.Strides[:0]
		f.Keyframe = h264.IsKeyframe(data)
	default:
		if !rawPlanes(f, data, sess.stride) {
			s.dropped.Add(1)
			sess.requeue(idx)
			return
		}
	}
	f.Seq, f.Time = s.seq.Add(1)-1, now
	f.OnRelease = sess.give[idx]
	sess.mu.Lock()
	sess.held++
	sess.mu.Unlock()
	emit(f)
}

// rawPlanes points f's planes into data, laid out at stride; false when
// data is too short for the picture.
func rawPlanes(f *Frame, data []byte, stride int) bool {
	w, h := f.Width, f.Height
	ySize := stride * h
	switch f.Format {
	case I420:
		cs := stride / 2
		cSize := cs * h / 2
		if stride < w || len(data) < ySize+2*cSize {
			return false
		}
		f.Planes = append(f.Planes[:0], data[:ySize], data[ySize:ySize+cSize], data[ySize+cSize:ySize+2*cSize])
		f.Strides = append(f.Strides[:0], stride, cs, cs)
	case NV12:
		if stride < w || len(data) < ySize*3/2 {
			return false
		}
		f.Planes = append(f.Planes[:0], data[:ySize], data[ySize:ySize*3/2])
		f.Strides = append(f.Strides[:0], stride, stride)
	case YUYV:
		if stride < 2*w || len(data) < ySize {
			return false
		}
		f.Planes = append(f.Planes[:0], data[:ySize])
		f.Strides = append(f.Strides[:0], stride)
	default:
		return false
	}
	return true
}

// requeue gives buffer idx back to the driver.
func (sess *v4l2Session) requeue(idx int) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.queueLocked(idx)
}

func (sess *v4l2Session) queueLocked(idx int) {
	if sess.done {
		return
	}
	b := v4l2.Buffer{Index: idx}
	if err := sess.q.Enqueue(&b); err != nil {
		// The loop sees the device fail on its next dequeue.
		sess.s.log.Debug("requeue failed", "buffer", idx, "err", err)
	}
}

// release is a frame's OnRelease: the consumer is done with buffer idx.
func (sess *v4l2Session) release(idx int) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.held--
	sess.queueLocked(idx)
	if sess.done && sess.held == 0 {
		sess.closeLocked()
	}
}

// finish stops streaming; the device closes now, or when the last frame
// the consumer holds comes back.
func (sess *v4l2Session) finish() {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.done = true
	sess.closeDecoder()
	sess.dev.StreamOff(sess.q.Type()) // fails when the camera is gone: nothing to stop
	if sess.held == 0 {
		sess.closeLocked()
	}
}

func (sess *v4l2Session) closeLocked() {
	if sess.closed {
		return
	}
	sess.closed = true
	sess.unexport()
	sess.q.Free()
	sess.dev.Close()
}
