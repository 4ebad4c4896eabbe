package encode

import (
	"errors"
	"math"
	"syscall"

	"github.com/camd-project/camd/hw/v4l2"
)

// m2mLevels maps H.264 level_idc to the V4L2 level menu
// (V4L2_MPEG_VIDEO_H264_LEVEL_*).
var m2mLevels = map[uint8]int64{
	10: 0, 11: 2, 12: 3, 13: 4, 20: 5, 21: 6, 22: 7, 30: 8, 31: 9, 32: 10,
	40: 11, 41: 12, 42: 13, 50: 14, 51: 15, 52: 16,
}

// setControls sets the encoding controls before streaming. Controls the
// driver lacks are logged once and skipped.
func (e *M2M) setControls(s *m2mSession) {
	gop := int64(max(1, math.Round(e.opts.GOP.Seconds()*e.opts.FPS)))
	if s.coded == v4l2.PixH264 {
		e.setMenu(s, v4l2.CIDH264Profile, "h264 profile", v4l2.H264ProfileConstrainedBaseline, v4l2.H264ProfileBaseline)
		e.setMenu(s, v4l2.CIDH264Level, "h264 level", m2mLevels[levelFor(e.opts.Width, e.opts.Height, e.opts.FPS).idc])
		e.setMenu(s, v4l2.CIDBitrateMode, "bitrate mode", v4l2.BitrateModeCBR, v4l2.BitrateModeVBR)
		e.setInt(s, v4l2.CIDH264IPeriod, "h264 i-frame period", gop)
		e.setInt(s, v4l2.CIDRepeatSeqHeader, "repeat sequence header", 1)
		e.setInt(s, cidHeaderMode, "header mode", headerModeJoined)
		e.setInt(s, cidPrependSPSPPS, "prepend sps/pps to idr", 1)
	}
	e.setInt(s, v4l2.CIDGOPSize, "gop size", gop)
	e.mu.Lock()
	bps := e.bitrate
	e.setBitrate = false
	e.mu.Unlock()
	s.hasBitrate = e.setInt(s, v4l2.CIDBitrate, "bitrate", int64(bps))
	_, err := s.dev.QueryControl(v4l2.CIDForceKeyFrame)
	s.hasForceKey = err == nil
	if err != nil {
		e.noteMissing(v4l2.CIDForceKeyFrame, "force key frame", err)
	}
}

// Controls outside hw/v4l2's list: V4L2_CID_MPEG_VIDEO_HEADER_MODE with
// V4L2_MPEG_VIDEO_HEADER_MODE_JOINED_WITH_1ST_FRAME, and
// V4L2_CID_MPEG_VIDEO_PREPEND_SPSPPS_TO_IDR.
const (
	cidHeaderMode    = 0x00990900 + 216
	headerModeJoined = 1
	cidPrependSPSPPS = 0x00990900 + 644
)

// setInt sets an integer, boolean or menu control to v clamped to its
// range, and reports whether the driver has it.
func (e *M2M) setInt(s *m2mSession, id uint32, name string, v int64) bool {
	c, err := s.dev.QueryControl(id)
	if err != nil {
		e.noteMissing(id, name, err)
		return false
	}
	if !c.Writable() {
		e.noteMissing(id, name, errors.New("read-only or disabled"))
		return false
	}
	if err := s.dev.SetControl(id, int32(c.Clamp(v))); err != nil {
		e.noteMissing(id, name, err)
		return false
	}
	return true
}

// setMenu sets a menu control to the first of the values its menu offers.
func (e *M2M) setMenu(s *m2mSession, id uint32, name string, values ...int64) {
	c, err := s.dev.QueryControl(id)
	if err != nil {
		e.noteMissing(id, name, err)
		return
	}
	for _, v := range values {
		for _, m := range c.Menu {
			if m.Index == v {
				if err := s.dev.SetControl(id, int32(v)); err != nil {
					e.noteMissing(id, name, err)
				}
				return
			}
		}
	}
	e.noteMissing(id, name, errors.New("none of the wanted values offered"))
}

// setBitrate changes the bitrate while streaming.
func (s *m2mSession) setBitrate(bps int) {
	if !s.hasBitrate {
		return
	}
	if c, err := s.dev.QueryControl(v4l2.CIDBitrate); err == nil {
		bps = int(c.Clamp(int64(bps)))
	}
	if err := s.dev.SetControl(v4l2.CIDBitrate, int32(bps)); err != nil {
		s.hasBitrate = !v4l2.IsNotSupported(err) && !errors.Is(err, syscall.EBUSY)
	}
}

// forceKey asks for an IDR on the next frame; false when the driver has
// no FORCE_KEY_FRAME control.
func (s *m2mSession) forceKey() bool {
	if !s.hasForceKey {
		return false
	}
	if err := s.dev.SetControl(v4l2.CIDForceKeyFrame, 1); err != nil {
		s.hasForceKey = false
		return false
	}
	return true
}

// isPipe reports EPIPE: DQBUF after the last buffer of a drain.
func isPipe(err error) bool { return errors.Is(err, syscall.EPIPE) }
