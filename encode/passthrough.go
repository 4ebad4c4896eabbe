package encode

import (
	"fmt"
	"sync/atomic"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/h264"
)

// KeyframeRequester is implemented by H.264 sources that can be asked for an
// IDR: a camera with a keyframe control, a drone that takes a command. A
// Pipeline whose encoder is a Passthrough hands the source's RequestKeyframe
// to the Passthrough, so that viewers' keyframe requests reach the source.
type KeyframeRequester interface {
	RequestKeyframe()
}

// Passthrough is the Encoder for sources that deliver H.264 already: it
// hands each frame's access unit on unchanged, except that an IDR without
// SPS and PPS gets the last ones seen in front of it.
//
// It cannot change the source's bitrate: SetBitrate records the request
// (Bitrate reports it) and returns nil. ForceKeyframe counts the request
// and passes it to the source's KeyframeRequester when there is one;
// otherwise viewers wait for the source's next periodic IDR.
type Passthrough struct {
	ps  h264.ParamCache
	buf []byte

	bitrate   atomic.Int64
	requests  atomic.Uint64
	requester atomic.Pointer[func()]
}

// NewPassthrough returns a Passthrough. It holds no resources.
func NewPassthrough() *Passthrough { return new(Passthrough) }

// Name returns "passthrough".
func (p *Passthrough) Name() string { return "passthrough" }

// Encode copies the frame's access unit (the frame's memory goes back to the
// source after Encode). The access unit is a keyframe when the bitstream
// holds an IDR and SPS and PPS are known (in the frame, or from an earlier
// one): a stream that has not shown its parameter sets yet has no
// keyframes, so viewers wait for one that has. The frame's Keyframe flag
// is not trusted: a keyframe must be an IDR, which only the bitstream
// tells. An empty frame yields ok false; bytes without a start code are an
// error.
func (p *Passthrough) Encode(f *capture.Frame) (AccessUnit, bool, error) {
	if f.Format != capture.H264 {
		return AccessUnit{}, false, fmt.Errorf("passthrough: frame %d is %v, want H264: %w", f.Seq, f.Format, ErrUnsupportedFormat)
	}
	if len(f.Planes) == 0 || len(f.Planes[0]) == 0 {
		return AccessUnit{}, false, nil
	}
	data := f.Planes[0]
	if nal, _ := h264.NextNAL(data); nal == nil {
		return AccessUnit{}, false, fmt.Errorf("passthrough: frame %d: no NAL unit in %d bytes: %w", f.Seq, len(data), ErrBitstream)
	}
	data = p.ps.Apply(data)
	p.buf = append(p.buf[:0], data...)
	key := p.ps.Ready() && h264.IsKeyframe(p.buf)
	return AccessUnit{Data: p.buf, Keyframe: key, Time: f.Time, Seq: f.Seq}, true, nil
}

// SetBitrate records bps as the requested bitrate; the source keeps its own.
func (p *Passthrough) SetBitrate(bps int) error {
	p.bitrate.Store(int64(bps))
	return nil
}

// Bitrate returns the last bitrate passed to SetBitrate, or 0.
func (p *Passthrough) Bitrate() int { return int(p.bitrate.Load()) }

// ForceKeyframe counts the request and calls the source's requester, if one
// was set with SetKeyframeRequester.
func (p *Passthrough) ForceKeyframe() {
	p.requests.Add(1)
	if fn := p.requester.Load(); fn != nil {
		(*fn)()
	}
}

// KeyframeRequests returns how many times ForceKeyframe was called.
func (p *Passthrough) KeyframeRequests() uint64 { return p.requests.Load() }

// SetKeyframeRequester sets the function ForceKeyframe calls to ask the
// source for an IDR (nil removes it). It must not block: it is called from
// whichever goroutine asks for a keyframe.
func (p *Passthrough) SetKeyframeRequester(fn func()) {
	if fn == nil {
		p.requester.Store(nil)
		return
	}
	p.requester.Store(&fn)
}

// Close does nothing; a Passthrough holds no resources.
func (p *Passthrough) Close() error { return nil }
