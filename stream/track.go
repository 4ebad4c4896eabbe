package stream

import (
	"strings"
	"sync"

	"github.com/pion/webrtc/v4"
)

// viewerTrack is the TrackLocal of one viewer. Unlike pion's
// TrackLocalStaticRTP it keeps its own RTP sequence numbers, so access
// units the hub dropped for this viewer leave no gap that would trigger
// NACKs, and it writes shared payloads without copying them.
type viewerTrack struct {
	id, streamID string

	mu    sync.Mutex
	ssrc  uint32
	pt    uint8
	w     webrtc.TrackLocalWriter
	seq   uint16
	bound bool
}

func newViewerTrack(id string) *viewerTrack {
	return &viewerTrack{id: "video", streamID: "camd-" + id}
}

// pickH264 chooses the negotiated codec to send: H.264 with
// packetization-mode=1, constrained baseline first.
func pickH264(params []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	best, found, bestScore := webrtc.RTPCodecParameters{}, false, -1
	for _, p := range params {
		if !strings.EqualFold(p.MimeType, webrtc.MimeTypeH264) {
			continue
		}
		fmtp := strings.ToLower(p.SDPFmtpLine)
		score := 0
		if strings.Contains(fmtp, "packetization-mode=1") {
			score += 4
		}
		if strings.Contains(fmtp, "profile-level-id=42e0") {
			score += 2
		} else if strings.Contains(fmtp, "profile-level-id=42") {
			score++
		}
		if score > bestScore {
			best, found, bestScore = p, true, score
		}
	}
	return best, found
}

func (t *viewerTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, ok := pickH264(ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ssrc = uint32(ctx.SSRC())
	t.pt = uint8(codec.PayloadType)
	t.w = ctx.WriteStream()
	t.bound = true
	return codec, nil
}

func (t *viewerTrack) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bound = false
	t.w = nil
	return nil
}

func (t *viewerTrack) ID() string                { return t.id }
func (t *viewerTrack) RID() string               { return "" }
func (t *viewerTrack) StreamID() string          { return t.streamID }
func (t *viewerTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeVideo }
