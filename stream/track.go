package stream

import (
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// viewerTrack is the TrackLocal of one viewer. Unlike pion's
// TrackLocalStaticRTP it keeps its own RTP sequence numbers, so access
// units the hub dropped for this viewer leave no gap that would trigger
// NACKs, and it writes shared payloads without copying them. It answers
// NACKs itself from the same shared payloads (pion's NACK responder would
// copy every packet of every viewer into a buffer of its own).
type viewerTrack struct {
	id, streamID string

	mu    sync.Mutex
	ssrc  uint32
	pt    uint8
	w     webrtc.TrackLocalWriter
	seq   uint16
	bound bool
	hdr   rtp.Header // reused: nothing below the track keeps it
	sent  *[nackHistory]sentRef
	epoch time.Time // the clock of sentRef.resent
	padTS uint32    // the timestamp of the latest padding
}

// nackHistory is how many packets a viewer can ask for again: more than a
// second of video at the bitrate ceiling, which is as far back as a
// retransmission still helps (maxRetransmitAge).
const nackHistory = 1024

// sentRef is a packet sent, by its sequence number: which shared payload
// it carried (u nil: none; paddingSent: padding), and when it was last sent again,
// in milliseconds on the track's own clock plus one (0: never). Every
// viewer keeps nackHistory of them, so they are kept to 16 bytes.
type sentRef struct {
	u      *unit
	resent uint32
	i      uint16
	seq    uint16
}

func newViewerTrack(id string) *viewerTrack {
	return &viewerTrack{id: "video", streamID: "camd-" + id, sent: new([nackHistory]sentRef), epoch: time.Now()}
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
