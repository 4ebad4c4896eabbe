package browser

import (
	"context"
	"fmt"
)

// InboundVideo is a video receiver's inbound-rtp statistics, read from a
// fresh getStats: unlike a page's own once-a-second copy, two reads never
// return the same snapshot because a timer slipped.
type InboundVideo struct {
	Found      bool    `json:"found"` // the connection has a video receiver with stats
	Bytes      float64 `json:"bytes"`
	Packets    float64 `json:"packets"`
	Lost       float64 `json:"lost"`
	Frames     float64 `json:"frames"`    // framesDecoded
	KeyFrames  float64 `json:"keyFrames"` // keyFramesDecoded
	Dropped    float64 `json:"dropped"`   // framesDropped
	Freezes    float64 `json:"freezes"`   // totalFreezesDuration, s
	FreezeN    float64 `json:"freezeCount"`
	NACKs      float64 `json:"nacks"`
	PLIs       float64 `json:"plis"`
	Retx       float64 `json:"retx"`        // retransmittedPacketsReceived
	JitterBufS float64 `json:"jitterBufS"`  // jitterBufferDelay, s, summed over frames
	JitterBufN float64 `json:"jitterBufN"`  // jitterBufferEmittedCount
	Decoder    string  `json:"decoder"`     // decoderImplementation
	Timestamp  float64 `json:"timestampMs"` // the report's time
}

// InboundVideo reads the statistics of the first video receiver of the
// RTCPeerConnection that the JavaScript expression pc names. A connection
// without one (not yet answered, or pc null) gives Found false.
func (p *Page) InboundVideo(ctx context.Context, pc string) (InboundVideo, error) {
	js := fmt.Sprintf(`(async () => {
	const pc = %s;
	const out = {found: false};
	if (!pc) return out;
	(await pc.getStats()).forEach((r) => {
		if (out.found || r.type !== "inbound-rtp" || (r.kind || r.mediaType) !== "video") return;
		Object.assign(out, {found: true, bytes: r.bytesReceived || 0, packets: r.packetsReceived || 0,
			lost: r.packetsLost || 0, frames: r.framesDecoded || 0, keyFrames: r.keyFramesDecoded || 0,
			dropped: r.framesDropped || 0, freezes: r.totalFreezesDuration || 0, freezeCount: r.freezeCount || 0,
			nacks: r.nackCount || 0, plis: r.pliCount || 0, retx: r.retransmittedPacketsReceived || 0,
			jitterBufS: r.jitterBufferDelay || 0, jitterBufN: r.jitterBufferEmittedCount || 0,
			decoder: r.decoderImplementation || "", timestampMs: r.timestamp || 0});
	});
	return out;
})()`, pc)
	var v InboundVideo
	if err := p.Eval(ctx, js, &v); err != nil {
		return v, fmt.Errorf("browser.InboundVideo: %w", err)
	}
	return v, nil
}
