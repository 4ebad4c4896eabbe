package stream

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"
)

var errShuttingDown = errors.New("server is shutting down")

// OutboundOptions configure an Outbound.
type OutboundOptions struct {
	// Remote names the peer in logs and status (a WHIP endpoint's URL).
	Remote string
	// ICEServers are used for this connection instead of the server's.
	ICEServers []webrtc.ICEServer
}

// Outbound is a session camd starts itself: it offers a sendonly video
// section to a peer that did not ask through WHEP, such as a WHIP ingest
// (package stream/whip does that signalling). Once connected it is fed
// like any viewer, with the same pacing, NACK handling and bandwidth
// estimate, and its estimate joins the others in the bitrate policy. It
// does not count against Options.MaxViewers and WHEP requests cannot
// reach it.
type Outbound struct {
	s         *session
	connected chan struct{}
	once      sync.Once
}

// NewOutbound makes the PeerConnection and returns it with the SDP offer
// (candidates included). Apply the peer's answer with Accept.
func (s *Server) NewOutbound(o OutboundOptions) (*Outbound, string, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, "", fmt.Errorf("stream: NewOutbound: %w", errShuttingDown)
	}
	cfg := webrtc.Configuration{ICEServers: o.ICEServers}
	if cfg.ICEServers == nil {
		cfg.ICEServers = s.opts.ICEServers
	}
	so := sessionOptions{
		id:             newID(),
		remote:         o.Remote,
		kind:           KindWHIP,
		config:         cfg,
		gatherTimeout:  s.opts.GatherTimeout,
		connectTimeout: s.opts.ConnectTimeout,
		estimators:     s.est,
		target:         s.rc.currentTarget,
		names:          s.resolver(),
	}
	sess, err := newPeer(s.api, s.hub, s.log, so, s.out.forget)
	if err != nil {
		return nil, "", fmt.Errorf("stream: NewOutbound: %w", err)
	}
	ob := &Outbound{s: sess, connected: make(chan struct{})}
	sess.pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		sess.onState(st)
		if st == webrtc.PeerConnectionStateConnected {
			ob.once.Do(func() { close(ob.connected) })
		}
	})
	fail := func(err error) (*Outbound, string, error) {
		sess.abort()
		return nil, "", fmt.Errorf("stream: NewOutbound: %w", err)
	}
	tr, err := sess.pc.AddTransceiverFromTrack(sess.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return fail(fmt.Errorf("AddTransceiverFromTrack: %w", err))
	}
	sess.sender = tr.Sender()
	sess.noteSSRC()
	offer, err := sess.pc.CreateOffer(nil)
	if err != nil {
		return fail(fmt.Errorf("CreateOffer: %w", err))
	}
	if err := sess.setLocal(offer, so.gatherTimeout); err != nil {
		return fail(err)
	}
	s.out.add(sess)
	return ob, sess.pc.LocalDescription().SDP, nil
}

// Accept applies the peer's SDP answer; media flows once ICE and DTLS
// are up. An outbound that does not connect within the server's connect
// timeout closes itself.
func (o *Outbound) Accept(answer string) error {
	if err := o.s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("stream: applying the answer: %w", err)
	}
	if !o.s.sends() {
		return fmt.Errorf("stream: the answer does not accept camd's video (its video section is not recvonly)")
	}
	o.s.begin()
	o.s.resolveLocal(offerCandidates(o.s.pc.RemoteDescription()))
	return nil
}

// ID names the session in logs, status and metrics.
func (o *Outbound) ID() string { return o.s.id }

// Connected is closed once ICE and DTLS are up.
func (o *Outbound) Connected() <-chan struct{} { return o.connected }

// Done is closed when the session has ended: closed, or ICE failed.
func (o *Outbound) Done() <-chan struct{} { return o.s.done }

// State is the PeerConnection's state.
func (o *Outbound) State() webrtc.PeerConnectionState { return o.s.pc.ConnectionState() }

// Close ends the session. It is safe to call more than once.
func (o *Outbound) Close() { o.s.Close() }

// outbounds are the server's outbound sessions, kept apart from the WHEP
// sessions so they neither count against the viewer cap nor answer WHEP
// requests.
type outbounds struct {
	mu  sync.Mutex
	all map[*session]struct{}
}

func (b *outbounds) add(s *session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.all == nil {
		b.all = make(map[*session]struct{})
	}
	b.all[s] = struct{}{}
}

func (b *outbounds) forget(s *session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.all, s)
}

func (b *outbounds) list() []*session {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*session, 0, len(b.all))
	for s := range b.all {
		out = append(out, s)
	}
	return out
}

func (b *outbounds) closeAll() {
	for _, s := range b.list() {
		s.Close()
	}
}
