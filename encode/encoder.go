package encode

import (
	"time"

	"github.com/camd-project/camd/capture"
)

// AccessUnit is one encoded picture: H.264 Annex-B with start codes.
// A keyframe is an IDR with SPS and PPS in front of it, so a decoder can
// start from any keyframe.
type AccessUnit struct {
	Data     []byte
	Keyframe bool
	// Time is the capture time of the frame this picture came from.
	Time time.Time
	// Seq is the source frame's sequence number.
	Seq uint64
}

// Encoder turns frames into H.264 access units.
//
// Encode, SetBitrate and ForceKeyframe may be called from different
// goroutines; Encode itself is called from one goroutine at a time.
type Encoder interface {
	// Encode encodes one frame. The frame is not retained after Encode
	// returns (the caller releases it). ok is false when the encoder chose
	// to skip the frame (rate control) and produced nothing. au.Data is
	// valid until the next call to Encode.
	Encode(f *capture.Frame) (au AccessUnit, ok bool, err error)
	// SetBitrate changes the target bitrate, in bits per second, while
	// encoding. Encoders clamp it to what they support.
	SetBitrate(bps int) error
	// ForceKeyframe makes the next encoded picture an IDR.
	ForceKeyframe()
	// Name says which encoder this is, for logs and status pages.
	Name() string
	// Close drains and frees the encoder.
	Close() error
}

// Options configure an encoder. Zero values take the documented defaults.
type Options struct {
	Width, Height int
	FPS           float64 // default 30
	// Bitrate is the initial target in bits per second (default 2 Mbit/s).
	Bitrate int
	// GOP is the time between periodic keyframes (default 2 s).
	GOP time.Duration
}

// withDefaults returns o with its zero fields set to the documented defaults.
func (o Options) withDefaults() Options {
	if o.FPS <= 0 {
		o.FPS = 30
	}
	if o.Bitrate <= 0 {
		o.Bitrate = 2_000_000
	}
	if o.GOP <= 0 {
		o.GOP = 2 * time.Second
	}
	return o
}
