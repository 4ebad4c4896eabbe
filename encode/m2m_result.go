package encode

import (
	"errors"
	"fmt"
	"time"

	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/hw/v4l2"
)

// result waits for the next encoded picture and returns it as an access
// unit. A buffer holding only H.264 parameter sets (drivers that send the
// header separately) is remembered and the picture after it awaited.
func (s *m2mSession) result(e *M2M) (AccessUnit, bool, error) {
	deadline := time.Now().Add(e.mo.Timeout)
	for {
		err := s.cap.Dequeue(&s.b)
		if v4l2.IsAgain(err) {
			left := time.Until(deadline)
			if left <= 0 {
				s.fatal = true
				return AccessUnit{}, false, fmt.Errorf("no encoded picture within %v: %w", e.mo.Timeout, v4l2.ErrTimeout)
			}
			if _, werr := s.dev.Wait(v4l2.PollIn, left); werr != nil && !errors.Is(werr, v4l2.ErrTimeout) {
				s.fatal = true
				return AccessUnit{}, false, werr
			}
			continue
		}
		if err != nil {
			s.fatal = true
			return AccessUnit{}, false, err
		}
		s.ready = time.Now()
		if err := s.reclaim(); err != nil {
			s.fatal = true
			return AccessUnit{}, false, err
		}
		b := &s.b
		data := s.cap.Data(b, 0)
		failed := b.Flags&v4l2.BufFlagError != 0
		if !failed {
			e.buf = append(e.buf[:0], data...)
		}
		ts, flags := b.Timestamp, b.Flags
		idx := b.Index
		*b = v4l2.Buffer{Index: idx}
		if err := s.cap.Enqueue(b); err != nil {
			s.fatal = true
			return AccessUnit{}, false, err
		}
		if failed {
			return AccessUnit{}, false, nil // the driver dropped this picture
		}
		if len(e.buf) == 0 {
			if flags&v4l2.BufFlagLast != 0 {
				s.fatal = true
				return AccessUnit{}, false, fmt.Errorf("the encoder stopped (empty last buffer): %w", v4l2.ErrTimeout)
			}
			continue
		}
		au, ok, err := e.accessUnit(ts, flags)
		if err != nil || ok {
			return au, ok, err
		}
		// Parameter sets alone: the picture follows in the next buffer.
	}
}

// accessUnit turns the encoded data in e.buf into an access unit. For
// H.264 the keyframe flag comes from the bitstream (an IDR with SPS and
// PPS, which the cache puts in front when the driver sent them apart);
// for FWHT from its header.
func (e *M2M) accessUnit(ts time.Duration, flags v4l2.BufFlag) (AccessUnit, bool, error) {
	au := AccessUnit{}
	if st, ok := e.recall(ts); ok {
		au.Seq, au.Time = st.seq, st.time
	}
	switch e.mo.CodedFormat {
	case v4l2.PixH264:
		if nal, _ := h264.NextNAL(e.buf); nal == nil {
			return au, false, fmt.Errorf("encoded picture of %d bytes holds no NAL unit: %w", len(e.buf), ErrBitstream)
		}
		if !hasVCL(e.buf) {
			e.ps.Apply(e.buf)
			return au, false, nil
		}
		data := e.ps.Apply(e.buf)
		if len(data) != len(e.buf) {
			e.buf = append(e.buf[:0], data...)
		}
		au.Keyframe = e.ps.Ready() && h264.IsKeyframe(e.buf)
	case v4l2.PixFWHT:
		h, err := ParseFWHT(e.buf)
		if err != nil {
			return au, false, err
		}
		au.Keyframe = h.IFrame()
	default:
		au.Keyframe = flags&v4l2.BufFlagKeyframe != 0
	}
	au.Data = e.buf
	return au, true, nil
}

// hasVCL reports whether an Annex-B buffer holds a coded slice.
func hasVCL(b []byte) bool {
	for rest := b; ; {
		var nal []byte
		nal, rest = h264.NextNAL(rest)
		if nal == nil {
			return false
		}
		if h264.TypeOf(nal).IsVCL() {
			return true
		}
	}
}

// drain stops the encoder the documented way: ENC_CMD_STOP, then capture
// buffers until the one flagged LAST. Encoders without the command are
// just stopped.
func (s *m2mSession) drain(e *M2M) error {
	if !s.streaming {
		return nil
	}
	if err := s.dev.EncoderCommand(v4l2.EncCmdStop, 0); err != nil {
		if v4l2.IsNotSupported(err) {
			return nil
		}
		return err
	}
	deadline := time.Now().Add(e.mo.Timeout)
	for {
		err := s.cap.Dequeue(&s.b)
		switch {
		case v4l2.IsAgain(err):
			left := time.Until(deadline)
			if left <= 0 {
				return fmt.Errorf("drain: no last buffer within %v: %w", e.mo.Timeout, v4l2.ErrTimeout)
			}
			if _, werr := s.dev.Wait(v4l2.PollIn, left); werr != nil && !errors.Is(werr, v4l2.ErrTimeout) {
				return werr
			}
			continue
		case isPipe(err):
			return nil // the last buffer was already dequeued
		case err != nil:
			return err
		}
		if s.b.Flags&v4l2.BufFlagLast != 0 {
			return nil
		}
	}
}

// close stops streaming, frees the buffers and closes the device. After a
// fatal error the ioctls may fail; the device is closed anyway.
func (s *m2mSession) close() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if s.streaming {
		keep(s.dev.StreamOff(s.capType))
		keep(s.dev.StreamOff(s.outType))
		s.streaming = false
	}
	if s.out != nil {
		keep(s.out.Free())
	}
	if s.cap != nil {
		keep(s.cap.Free())
	}
	keep(s.dev.Close())
	return first
}
