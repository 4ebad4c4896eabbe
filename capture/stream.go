package capture

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/camd-project/camd/capture/h264"
)

// StreamSource turns an H.264 Annex-B byte stream that arrives in pieces
// (a DJI Tello's UDP video datagrams, a pipe) into access units as they
// complete. It starts at the first keyframe, puts the cached SPS and PPS in
// front of every IDR that lacks them, and after a gap (a lost datagram)
// resynchronises on the next keyframe rather than hand on broken pictures.
type StreamSource struct {
	name   string
	chunks <-chan []byte
	info   Info

	// Lost, when set, reports how many chunks the producer dropped so far;
	// a change means the stream has a gap.
	Lost func() uint64

	units, waited atomic.Uint64
}

// NewStreamSource reads chunks until the channel closes or ctx ends.
// width, height and fps describe the stream until its SPS says otherwise.
func NewStreamSource(name string, chunks <-chan []byte, width, height int, fps float64) *StreamSource {
	return &StreamSource{
		name:   name,
		chunks: chunks,
		info:   Info{Name: name, Format: H264, Width: width, Height: height, FPS: fps},
	}
}

// Info describes the stream.
func (s *StreamSource) Info() Info { return s.info }

// Stats reports the access units handed on and those passed over while
// waiting for a keyframe.
func (s *StreamSource) Stats() (units, waited uint64) { return s.units.Load(), s.waited.Load() }

// ErrStreamEnded is returned by Run when the chunk channel closes.
var ErrStreamEnded = errors.New("capture: stream ended")

// Run emits one H264 frame per access unit.
func (s *StreamSource) Run(ctx context.Context, emit func(*Frame)) error {
	var split h264.AccessUnitSplitter
	var params h264.ParamCache
	synced := false
	var lost uint64
	seq := uint64(0)
	for {
		var chunk []byte
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case chunk, ok = <-s.chunks:
			if !ok {
				return ErrStreamEnded
			}
		}
		if s.Lost != nil {
			if n := s.Lost(); n != lost {
				lost, synced = n, false // a gap: wait for the next keyframe
			}
		}
		if _, err := split.Write(chunk); err != nil {
			synced = false
		}
		for {
			au, ok := split.Next()
			if !ok {
				break
			}
			au = params.Apply(au)
			key := h264.IsKeyframe(au) && params.Ready()
			if !synced && !key {
				s.waited.Add(1)
				continue
			}
			synced = true
			s.units.Add(1)
			emit(&Frame{
				Format: H264, Width: s.info.Width, Height: s.info.Height,
				Planes: [][]byte{au}, Time: time.Now(), Seq: seq, Keyframe: key,
			})
			seq++
		}
	}
}
