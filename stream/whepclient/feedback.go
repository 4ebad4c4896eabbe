package whepclient

import (
	"fmt"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Feedback modes (Options.Feedback).
const (
	FeedbackTWCC = "twcc"
	FeedbackREMB = "remb"
	FeedbackNone = "none"
)

// setupFeedback registers the H.264 codec and the interceptors for the
// feedback mode: NACK and receiver reports always, transport-wide
// feedback only in FeedbackTWCC.
func setupFeedback(m *webrtc.MediaEngine, ir *interceptor.Registry, mode string) error {
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	switch mode {
	case "", FeedbackTWCC:
		fb = append(fb, webrtc.RTCPFeedback{Type: "transport-cc"})
	case FeedbackREMB:
		fb = append(fb, webrtc.RTCPFeedback{Type: "goog-remb"})
	case FeedbackNone:
	default:
		return fmt.Errorf("whepclient: unknown feedback mode %q (want %q, %q or %q)", mode, FeedbackTWCC, FeedbackREMB, FeedbackNone)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
			RTCPFeedback: fb,
		},
		PayloadType: 102,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("whepclient: RegisterCodec: %w", err)
	}
	if mode == "" || mode == FeedbackTWCC {
		if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
			return fmt.Errorf("whepclient: RegisterDefaultInterceptors: %w", err)
		}
		return nil
	}
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		return fmt.Errorf("whepclient: ConfigureNack: %w", err)
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return fmt.Errorf("whepclient: ConfigureRTCPReports: %w", err)
	}
	return nil
}

// readRTCP keeps the receiver's RTCP flowing through the interceptors, so
// sender reports reach the report interceptor and receiver reports carry
// the round trip (LSR, DLSR).
func (c *Client) readRTCP(r *webrtc.RTPReceiver) {
	defer c.wg.Done()
	for {
		if _, _, err := r.ReadRTCP(); err != nil {
			return
		}
	}
}

// sendREMB reports a fixed estimate, as a REMB-only receiver would.
func (c *Client) sendREMB(ssrc uint32, bps int) {
	defer c.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.closed:
			return
		case <-t.C:
			pkt := &rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(bps), SSRCs: []uint32{ssrc}}
			if err := c.pc.WriteRTCP([]rtcp.Packet{pkt}); err != nil {
				return
			}
		}
	}
}
