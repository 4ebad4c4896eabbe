package stream

import (
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/report"
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
	// UDPMux, when set, carries every viewer's media on one port.
	UDPMux ice.UDPMux
	// PublicIPs replace the host candidates' addresses (1:1 NAT).
	PublicIPs []string
	// Interfaces limits candidates to these interfaces; empty means all.
	Interfaces []string
	// ICE timeouts: a viewer that vanishes without DELETE is reaped when
	// its ICE agent gives up.
	DisconnectedTimeout, FailedTimeout, KeepAlive time.Duration
	// Estimators, when set, gives every PeerConnection a bandwidth
	// estimator (GCC on TWCC feedback, probing).
	Estimators *estimators
	// Net replaces the host's network (tests use a virtual one).
	Net transport.Net
	// KeyLog receives DTLS keys in the NSS key log format (debugging).
	KeyLog io.Writer
}

// interfaceFilter keeps the named interfaces, or is nil to keep all.
func interfaceFilter(names []string) func(string) bool {
	if len(names) == 0 {
		return nil
	}
	return func(iface string) bool { return slices.Contains(names, iface) }
}

// usableIP keeps IPv6 link-local addresses out of ICE. pion gathers a
// host candidate on them but never announces it (RFC 8445 §5.1.1.1), so
// no viewer can reach it; each one cost a socket in the mux and, per
// viewer, a candidate with two goroutines of its own.
func usableIP(ip net.IP) bool {
	return ip.To4() != nil || !(ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast())
}

// udpSendBuffer is the send buffer asked for the shared media socket.
const udpSendBuffer = 4 << 20

// newUDPMux listens on port on every allowed interface, so all viewers
// share it and one firewall rule is enough.
func newUDPMux(port int, includeLoopback bool, interfaces []string) (*ice.MultiUDPMuxDefault, error) {
	// All viewers share the socket's send buffer. When a viewer's network
	// goes dark, the kernel holds the packets to it while it tries to
	// resolve its address (up to unres_qlen_bytes, 208 KiB by default),
	// charged to this buffer; at the default size (208 KiB) that stalled
	// every other viewer's sends until ICE gave up (13 instead of 30 fps
	// for 20 s in scripts/nettest TestBlackholedViewer). The kernel caps
	// this at net.core.wmem_max (doubled).
	opts := []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4, ice.NetworkTypeUDP6),
		ice.UDPMuxFromPortWithWriteBufferSize(udpSendBuffer), ice.UDPMuxFromPortWithIPFilter(usableIP)}
	if includeLoopback {
		opts = append(opts, ice.UDPMuxFromPortWithLoopback())
	}
	if f := interfaceFilter(interfaces); f != nil {
		opts = append(opts, ice.UDPMuxFromPortWithInterfaceFilter(f))
	}
	m, err := ice.NewMultiUDPMuxFromPort(port, opts...)
	if err != nil {
		return nil, fmt.Errorf("stream: UDP port %d for media: %w (is another camd running? set webrtc.udp_port)", port, err)
	}
	return m, nil
}

// maxDataChannelMessage is the largest DataChannel message camd takes:
// room above control.MaxMessage, so an oversized control message is
// answered "too-big" rather than cut off.
const maxDataChannelMessage = 16 << 10

// newAPI builds the pion API shared by all viewers: H.264 only, the
// bandwidth estimators, the transport-wide sequence numbers, the RTCP
// reports, and the ICE settings.
//
// Outgoing packets pass the interceptors in the reverse order of
// registration. A retransmission (track_send.go) enters at the top like
// any packet, so it gets a fresh transport-wide sequence number (as
// libwebrtc's do) and TWCC feedback tells it apart from the original; the
// estimator sees every packet last, numbered.
func newAPI(o apiOptions) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range h264Codecs() {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("stream: RegisterCodec: %w", err)
		}
	}
	ir := &interceptor.Registry{}
	if o.Estimators != nil {
		if err := o.Estimators.register(ir); err != nil {
			return nil, fmt.Errorf("stream: cc.NewInterceptor: %w", err)
		}
	}
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, ir); err != nil {
		return nil, fmt.Errorf("stream: ConfigureTWCCHeaderExtensionSender: %w", err)
	}
	// Of pion's default interceptors camd needs only the sender reports
	// (the viewer's round trip and lip sync): the sessions answer NACKs
	// themselves (track_send.go), camd receives no media to report on or
	// give feedback on (each would be a goroutine per viewer), and nothing
	// reads pion's stats.
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, fmt.Errorf("stream: report.NewSenderInterceptor: %w", err)
	}
	ir.Add(sr)
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
	// pion announces DataChannel messages of up to 1 GiB by default;
	// camd's control messages are at most 4 KiB (control.MaxMessage), and
	// the answer says 16 KiB (a=max-message-size), which browsers respect.
	// As of pion v4.2.26 (2026-11) the receiving side does not enforce it
	// (the datachannel read returns 0 on a short buffer, so pion grows
	// its buffer); a hostile peer's message is bounded by the SCTP receive
	// window (1 MiB) and answered too-big by the router unparsed.
	se.SetSCTPMaxMessageSize(maxDataChannelMessage)
	if o.KeyLog != nil {
		se.SetDTLSKeyLogWriter(o.KeyLog)
	}
	if o.UDPMux != nil {
		se.SetICEUDPMux(o.UDPMux)
	}
	if len(o.PublicIPs) > 0 {
		se.SetNAT1To1IPs(o.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	if f := interfaceFilter(o.Interfaces); f != nil {
		se.SetInterfaceFilter(f)
	}
	se.SetIPFilter(usableIP)
	// Browsers hide their addresses behind random .local names. pion's
	// agent would resolve them with mDNS sockets and goroutines of its own
	// per viewer; the server resolves them for all viewers with one shared
	// querier instead (localnames.go).
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if o.Net != nil {
		se.SetNet(o.Net)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// newPeerConnection makes a PeerConnection and returns it with the
// estimator pion's cc interceptor made for it (nil when f is nil). The cc
// factory reports its estimator from inside NewPeerConnection; holding
// f.mu across the call ties the two together without relying on IDs.
func (f *estimators) newPeerConnection(api *webrtc.API, cfg webrtc.Configuration) (*webrtc.PeerConnection, *estimator, error) {
	if f == nil {
		pc, err := api.NewPeerConnection(cfg)
		return pc, nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = nil
	pc, err := api.NewPeerConnection(cfg)
	est := f.last
	f.last = nil
	if err != nil {
		return nil, nil, err
	}
	return pc, est, nil
}

// estimators hands each new PeerConnection its own estimator: pion's cc
// interceptor makes one per PeerConnection and reports it through a
// callback during NewPeerConnection, which newPeerConnection serializes.
type estimators struct {
	opts func() bweOptions

	mu   sync.Mutex
	last *estimator
}

// register adds the cc interceptor to the registry; it must come before
// the TWCC header extension, so that packets, retransmissions too, reach
// it with their transport-wide sequence numbers.
func (f *estimators) register(ir *interceptor.Registry) error {
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) { return newEstimator(f.opts()) })
	if err != nil {
		return err
	}
	ccf.OnNewPeerConnection(func(_ string, b cc.BandwidthEstimator) {
		f.last, _ = b.(*estimator) // under f.mu, held by newPeerConnection
	})
	ir.Add(ccf)
	return nil
}
