package stream

import (
	"fmt"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// h264Codecs are the H.264 variants camd answers with. Every browser offers
// constrained baseline with packetization-mode=1; camd's encoders produce
// exactly that. The feedback lines ask for NACK, PLI, FIR, REMB and TWCC.
func h264Codecs() []webrtc.RTPCodecParameters {
	fb := []webrtc.RTCPFeedback{
		{Type: "goog-remb"},
		{Type: "ccm", Parameter: "fir"},
		{Type: "nack"},
		{Type: "nack", Parameter: "pli"},
		{Type: "transport-cc"},
	}
	mk := func(pt webrtc.PayloadType, profile string) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType:     webrtc.MimeTypeH264,
				ClockRate:    90000,
				SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile,
				RTCPFeedback: fb,
			},
			PayloadType: pt,
		}
	}
	return []webrtc.RTPCodecParameters{mk(102, "42e01f"), mk(106, "42001f")}
}

// apiOptions select the transport behaviour of every PeerConnection.
type apiOptions struct {
	IncludeLoopback bool
	// ICE timeouts: a viewer that vanishes without DELETE is reaped when
	// its ICE agent gives up.
	DisconnectedTimeout, FailedTimeout, KeepAlive time.Duration
}

// newAPI builds the pion API shared by all viewers: H.264 only, the default
// interceptors (NACK responder, RTCP reports, TWCC feedback), and the ICE
// settings.
func newAPI(o apiOptions) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range h264Codecs() {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("stream: RegisterCodec: %w", err)
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, fmt.Errorf("stream: RegisterDefaultInterceptors: %w", err)
	}
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, ir); err != nil {
		return nil, fmt.Errorf("stream: ConfigureTWCCHeaderExtensionSender: %w", err)
	}
	var se webrtc.SettingEngine
	if o.DisconnectedTimeout == 0 {
		o.DisconnectedTimeout = 5 * time.Second
	}
	if o.FailedTimeout == 0 {
		o.FailedTimeout = 15 * time.Second
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = 2 * time.Second
	}
	se.SetICETimeouts(o.DisconnectedTimeout, o.FailedTimeout, o.KeepAlive)
	se.SetIncludeLoopbackCandidate(o.IncludeLoopback)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}
