//go:build cgo && (linux || darwin) && (amd64 || arm64 || arm.7)

// The build constraint follows the static libopenh264 that
// github.com/pion/mediadevices bundles: amd64, arm64 and ARMv7 (the arm.7
// feature tag is set for GOARM=7 only), so GOARM=6 builds and CGO_ENABLED=0
// builds leave the software encoder out and New reports ErrNotBuiltIn.

package encode

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"math"
	"sync/atomic"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/openh264"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/h264"
)

const openH264BuiltIn = true

// Bitrate range the software encoder accepts; SetBitrate clamps to it. The
// top is lower for small pictures: see levelBitrate.
const (
	minBitrate = 50_000
	maxBitrate = 20_000_000
)

// openH264 encodes I420, NV12 and YUYV frames with openh264 through
// pion/mediadevices, whose encoder pulls pictures from a video.Reader: Encode
// points img at the frame and asks the encoder to read it.
type openH264 struct {
	opts    Options
	maxRate int // bit/s: maxBitrate, or less to hold the level
	enc     codec.ReadCloser
	rate    codec.BitRateController
	keyer   codec.KeyFrameController

	img image.YCbCr // the picture the reader hands out, set by Encode
	buf i420Buf     // conversion target for NV12 and YUYV
	ps  h264.ParamCache
	sps []byte // the SPS last checked for constrained baseline

	// Requests from other goroutines, applied by Encode between frames:
	// the C encoder must not be reconfigured while it encodes.
	bitrate    atomic.Int64 // pending target, 0 when none
	forceKey   atomic.Bool
	keyPending bool // a forced IDR has not come out yet
	closed     atomic.Bool
}

func newOpenH264(opts Options) (Encoder, error) {
	opts = opts.withDefaults()
	if opts.Width <= 0 || opts.Height <= 0 || opts.Width%2 != 0 || opts.Height%2 != 0 {
		return nil, fmt.Errorf("openh264: %dx%d, want positive even width and height: %w", opts.Width, opts.Height, ErrBadSize)
	}
	e := &openH264{opts: opts, maxRate: min(maxBitrate, levelBitrate(opts.Width, opts.Height, opts.FPS))}
	params, err := openh264.NewParams()
	if err != nil {
		return nil, fmt.Errorf("openh264.NewParams: %w", err)
	}
	params.BitRate = e.clamp(opts.Bitrate)
	params.IntraPeriod = uint(max(1, math.Round(opts.GOP.Seconds()*opts.FPS)))
	// One thread. Measured 2026-11 at 720p on a shared two-core amd64
	// machine: two threads took 2.1 to 3.5 ms a frame against 2.6 to 3.0
	// for one, depending on the load, and always about a third more CPU;
	// capture and the WebRTC senders need the other cores.
	params.MultipleThreadIdc = 1
	reader := video.ReaderFunc(func() (image.Image, func(), error) {
		return &e.img, func() {}, nil
	})
	enc, err := params.BuildVideoEncoder(reader, prop.Media{Video: prop.Video{
		Width:       opts.Width,
		Height:      opts.Height,
		FrameRate:   float32(opts.FPS),
		FrameFormat: frame.FormatI420,
	}})
	if err != nil {
		return nil, fmt.Errorf("openh264.BuildVideoEncoder(%dx%d): %w", opts.Width, opts.Height, err)
	}
	rate, ok1 := enc.Controller().(codec.BitRateController)
	keyer, ok2 := enc.Controller().(codec.KeyFrameController)
	if !ok1 || !ok2 {
		enc.Close()
		return nil, errors.New("openh264: encoder has no bitrate or keyframe control")
	}
	e.enc, e.rate, e.keyer = enc, rate, keyer
	return e, nil
}

func (e *openH264) clamp(bps int) int { return max(min(bps, e.maxRate), minBitrate) }

func (e *openH264) Name() string { return "openh264" }

func (e *openH264) Encode(f *capture.Frame) (AccessUnit, bool, error) {
	if e.closed.Load() {
		return AccessUnit{}, false, fmt.Errorf("openh264: Encode: %w", ErrClosed)
	}
	if err := toYCbCr(&e.img, &e.buf, f, e.opts.Width, e.opts.Height); err != nil {
		return AccessUnit{}, false, fmt.Errorf("openh264: %w", err)
	}
	if bps := e.bitrate.Swap(0); bps != 0 {
		if err := e.rate.SetBitRate(int(bps)); err != nil {
			return AccessUnit{}, false, fmt.Errorf("openh264: SetBitRate(%d): %w", bps, err)
		}
	}
	if e.forceKey.Swap(false) {
		e.keyPending = true
	}
	if e.keyPending {
		// Asked again until an IDR comes out: a request that lands on a
		// frame that rate control skips is not lost.
		if err := e.keyer.ForceKeyFrame(); err != nil {
			return AccessUnit{}, false, fmt.Errorf("openh264: ForceKeyFrame: %w", err)
		}
	}
	data, release, err := e.enc.Read()
	release()
	e.img = image.YCbCr{} // keep no reference to the frame's memory
	if err != nil {
		return AccessUnit{}, false, fmt.Errorf("openh264: encode frame %d: %w", f.Seq, err)
	}
	if len(data) == 0 {
		return AccessUnit{}, false, nil // skipped by rate control
	}
	data = e.ps.Apply(data)
	if sps := e.ps.SPS(); !bytes.Equal(sps, e.sps) {
		if err := checkBaseline(sps); err != nil {
			return AccessUnit{}, false, fmt.Errorf("openh264: frame %d: %w", f.Seq, err)
		}
		e.sps = sps
	}
	key := e.ps.Ready() && h264.IsKeyframe(data)
	if key {
		e.keyPending = false
	}
	return AccessUnit{Data: data, Keyframe: key, Time: f.Time, Seq: f.Seq}, true, nil
}

// checkBaseline makes sure the stream is constrained baseline, which every
// browser decodes.
func checkBaseline(sps []byte) error {
	s, err := h264.ParseSPS(sps)
	if err != nil {
		return fmt.Errorf("h264.ParseSPS: %w", err)
	}
	if !s.IsConstrainedBaseline() {
		return fmt.Errorf("profile-level-id %s is not constrained baseline: %w", s.ProfileLevelID(), ErrBitstream)
	}
	return nil
}

// SetBitrate sets the target in bits per second, clamped to 50 kbit/s..20
// Mbit/s, and below the bitrate that would make openh264 raise the level
// (and restart with an IDR): 16.8 Mbit/s at 720p30, 12 at 480p30. It takes
// effect from the next frame.
func (e *openH264) SetBitrate(bps int) error {
	e.bitrate.Store(int64(e.clamp(bps)))
	return nil
}

// ForceKeyframe makes the next encoded picture an IDR.
func (e *openH264) ForceKeyframe() { e.forceKey.Store(true) }

// Close frees the encoder. It must not run during Encode.
func (e *openH264) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	if err := e.enc.Close(); err != nil {
		return fmt.Errorf("openh264: Close: %w", err)
	}
	return nil
}
