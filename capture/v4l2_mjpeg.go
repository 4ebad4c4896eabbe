package capture

import (
	"errors"
	"fmt"

	"github.com/camd-project/camd/hw/v4l2"
)

// Decoder choices for V4L2Options.Decoder.
const (
	DecoderSoftware = "software" // Go's image/jpeg
	DecoderAuto     = "auto"     // an M2M decoder found by its formats, else software
)

// openDecoder opens the hardware MJPEG decoder the options ask for, or
// returns nil when the software one is to be used: asked for, or none
// usable (logged once; the software decoder takes over).
func (s *V4L2) openDecoder() *M2MDecoder {
	want := s.opts.Decoder
	if s.mjpeg == nil || want == "" || want == DecoderSoftware || s.hwDecFailed.Load() {
		return nil
	}
	camera := Format(s.neg.pixfmt)
	path, coded := want, camera
	var err error
	if want == DecoderAuto {
		path, coded, err = FindM2MDecoder(s.opts.Open, MJPEG)
		if err != nil {
			s.hwDecFailed.Store(true)
			s.log.Info("no hardware MJPEG decoder; decoding in software", "err", err)
			return nil
		}
	} else if !v4l2.IsDecoder(s.opts.Open, path, uint32(coded), nil) {
		// The same bitstream under its other name.
		if coded = MJPEG; camera == MJPEG {
			coded = Format(v4l2.PixJPEG)
		}
	}
	d, err := NewM2MDecoder(M2MDecoderOptions{Device: path, Coded: coded, Width: s.neg.width, Height: s.neg.height,
		Open: s.opts.Open, Logger: s.log.With("decoder", path)})
	if err != nil {
		s.hwDecFailed.Store(true)
		s.log.Warn("hardware MJPEG decoder not usable; decoding in software", "device", path, "err", err)
		return nil
	}
	s.log.Info("decoding MJPEG in hardware", "device", path, "coded", coded)
	return d
}

// decodeMJPEG decodes one camera picture: in hardware when a decoder is
// open, else (and from the first hardware failure on) with image/jpeg.
func (sess *v4l2Session) decodeMJPEG(data []byte) (*Frame, error) {
	s := sess.s
	if sess.dec != nil {
		f, err := sess.dec.Decode(data)
		if err == nil && f == nil {
			return nil, errors.New("the hardware decoder flagged the picture as broken")
		}
		if err == nil && (f.Width != s.neg.width || f.Height != s.neg.height) {
			f.Release()
			err = fmt.Errorf("decoded %dx%d, the camera said %dx%d", f.Width, f.Height, s.neg.width, s.neg.height)
		}
		if err == nil {
			return f, nil
		}
		s.hwDecFailed.Store(true)
		s.log.Warn("hardware MJPEG decoder failed; decoding in software from now on", "err", err)
		sess.closeDecoder()
	}
	return s.mjpeg.decode(data)
}

func (sess *v4l2Session) closeDecoder() {
	if sess.dec != nil {
		sess.dec.Close()
		sess.dec = nil
	}
}
