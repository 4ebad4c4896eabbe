package stream

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// session is one WHEP viewer: a PeerConnection that sends the hub's video.
type session struct {
	id      string
	kind    string // KindWHEP or KindWHIP
	etag    string
	created time.Time
	remote  string // HTTP client address, for logs and status
	// authenticated: the viewer carried the token; only then does it get
	// the control channels, and only with the token may it be changed.
	authenticated bool
	pc            *webrtc.PeerConnection
	track         *viewerTrack
	sender        *webrtc.RTPSender
	hub           *Hub
	log           *slog.Logger
	onClose       func(*session)
	detach        func() // control channels; nil without control

	mu        sync.Mutex
	sub       *Subscriber
	closed    bool
	connected time.Time
	firstKey  time.Time // when the first keyframe went out
	timeout   *time.Timer

	patchMu        sync.Mutex // one PATCH at a time
	restarts       int
	gatherTimeout  time.Duration
	connectTimeout time.Duration

	closeOnce sync.Once
	wg        sync.WaitGroup
	done      chan struct{} // closed by Close

	names    nameResolver // nil: .local candidates are not resolved
	bwe      *estimator   // nil without bandwidth estimation
	targetFn func() int   // the encoder target, nil when camd does not steer it
	pace     pacer        // used by send only
	rx       reception

	packets, bytes atomic.Uint64
	pli, fir       atomic.Uint64
	nacks, nacked  atomic.Uint64 // NACK messages, and the packets they asked for
	unrepaired     atomic.Uint64 // NACKed packets not sent again: gone, or over the budget
}

type sessionOptions struct {
	id, remote     string
	authenticated  bool
	config         webrtc.Configuration
	gatherTimeout  time.Duration
	connectTimeout time.Duration
	control        Controller // nil: video only
	estimators     *estimators
	target         func() int
	kind           string       // default KindWHEP
	names          nameResolver // the viewer's .local candidates; nil: not resolved
}

// Kinds of session, as shown in status.
const (
	// KindWHEP is a viewer that asked camd for the stream (WHEP).
	KindWHEP = "whep"
	// KindWHIP is camd's own push to a WHIP ingest: it feeds the policy
	// like any viewer.
	KindWHIP = "whip"
)

// newSession negotiates a viewer from a WHEP offer and returns it with the
// SDP answer (candidates included). The viewer starts receiving once ICE
// and DTLS are up.
func newSession(api *webrtc.API, hub *Hub, log *slog.Logger, offer string, o sessionOptions, onClose func(*session)) (*session, string, error) {
	s, err := newPeer(api, hub, log, o, onClose)
	if err != nil {
		return nil, "", err
	}
	fail := func(err error) (*session, string, error) {
		s.abort()
		return nil, "", err
	}
	if s.sender, err = s.pc.AddTrack(s.track); err != nil {
		return fail(fmt.Errorf("AddTrack: %w", err))
	}
	s.noteSSRC()
	switch {
	case !o.authenticated:
		// A viewer without the token (auth.view = "open") watches only:
		// camd closes whatever channels it opens, and the page hides its
		// controls when they close.
		s.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
			dc.OnOpen(func() { _ = dc.Close() })
		})
	case o.control != nil:
		// The page opens its channels in-band with the offer; a WHEP
		// player that opens none simply gets video only.
		if s.detach, err = o.control.AttachPeer(s.pc, o.id, true); err != nil {
			return fail(fmt.Errorf("control channels: %w", err))
		}
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(fmt.Errorf("%w: %v", errBadOffer, err))
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", errBadOffer, err))
	}
	if err := s.setLocal(answer, o.gatherTimeout); err != nil {
		return fail(err)
	}
	// The answer must send video: an offer that refused it (inactive or
	// sendonly) would give a viewer with nothing to see.
	if !s.sends() {
		return fail(fmt.Errorf("%w: the offer does not accept video from camd (it needs a recvonly or sendrecv H.264 video section)", errBadOffer))
	}
	s.begin()
	s.resolveLocal(offerCandidates(s.pc.RemoteDescription()))
	return s, s.pc.LocalDescription().SDP, nil
}

// newPeer makes the PeerConnection, its estimator and the session around
// them, with no media section yet.
func newPeer(api *webrtc.API, hub *Hub, log *slog.Logger, o sessionOptions, onClose func(*session)) (*session, error) {
	pc, bwe, err := o.estimators.newPeerConnection(api, o.config)
	if err != nil {
		return nil, fmt.Errorf("NewPeerConnection: %w", err)
	}
	kind := o.kind
	if kind == "" {
		kind = KindWHEP
	}
	s := &session{
		id:      o.id,
		kind:    kind,
		etag:    `"` + o.id + `-0"`,
		created: time.Now(),
		remote:  o.remote,
		pc:      pc,

		authenticated: o.authenticated,
		track:         newViewerTrack(o.id),
		hub:           hub,
		log:           log.With("viewer", o.id, "remote", o.remote),
		onClose:       onClose,
		done:          make(chan struct{}),
		names:         o.names,
		bwe:           bwe,

		targetFn:       o.target,
		gatherTimeout:  o.gatherTimeout,
		connectTimeout: o.connectTimeout,
	}
	if kind != KindWHEP {
		s.log = log.With(kind, o.id, "remote", o.remote)
	}
	if bwe != nil {
		bwe.setLogger(s.log.With("component", "bwe"))
	}
	pc.OnConnectionStateChange(s.onState)
	return s, nil
}

// abort undoes a session that failed during negotiation.
func (s *session) abort() {
	if s.detach != nil {
		s.detach()
	}
	_ = s.pc.Close()
}

// noteSSRC records the SSRC of the video sender, to pick its blocks out of
// receiver reports.
func (s *session) noteSSRC() {
	if ps := s.sender.GetParameters(); len(ps.Encodings) > 0 {
		s.rx.ssrc = uint32(ps.Encodings[0].SSRC)
	}
}

// setLocal applies the local description and waits for ICE gathering, at
// most timeout: the description then carries the candidates (no trickle).
func (s *session) setLocal(d webrtc.SessionDescription, timeout time.Duration) error {
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(d); err != nil {
		return fmt.Errorf("SetLocalDescription: %w", err)
	}
	select {
	case <-gathered:
	case <-time.After(timeout):
		s.log.Warn("ICE gathering not complete; going on with the candidates so far", "after", timeout)
	}
	return nil
}

// begin reads RTCP and closes the session if it does not connect within
// connectTimeout.
func (s *session) begin() {
	connectTimeout := s.connectTimeout
	s.wg.Add(1)
	go s.readRTCP()
	s.mu.Lock()
	s.timeout = time.AfterFunc(connectTimeout, func() {
		s.log.Info("viewer never connected; closing", "after", connectTimeout)
		s.Close()
	})
	s.mu.Unlock()
}

func (s *session) sends() bool {
	for _, t := range s.pc.GetTransceivers() {
		if t.Sender() == s.sender {
			d := t.Direction()
			if d != webrtc.RTPTransceiverDirectionSendonly && d != webrtc.RTPTransceiverDirectionSendrecv {
				return false
			}
			// pion keeps the transceiver sendonly when the offer says
			// inactive; the answer's media section tells the truth.
			return answerSends(s.pc.LocalDescription(), t.Mid())
		}
	}
	return false
}

// answerSends reports whether the answer's media section mid sends.
func answerSends(answer *webrtc.SessionDescription, mid string) bool {
	if answer == nil {
		return false
	}
	d, err := answer.Unmarshal()
	if err != nil {
		return false
	}
	for _, m := range d.MediaDescriptions {
		if v, _ := m.Attribute("mid"); v != mid {
			continue
		}
		_, sendonly := m.Attribute("sendonly")
		_, sendrecv := m.Attribute("sendrecv")
		return sendonly || sendrecv
	}
	return false
}

func (s *session) onState(st webrtc.PeerConnectionState) {
	s.log.Debug("connection state", "state", st.String())
	switch st {
	case webrtc.PeerConnectionStateConnected:
		s.start()
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		s.Close()
	}
}

// start subscribes to the hub once the connection is up, so the keyframe
// the subscription asks for arrives when the viewer can decode it.
func (s *session) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.sub != nil {
		return
	}
	if s.timeout != nil {
		s.timeout.Stop()
	}
	s.connected = time.Now()
	s.sub = s.hub.Subscribe()
	s.log.Info("viewer connected", "setup", s.connected.Sub(s.created).Round(time.Millisecond))
	s.wg.Add(1)
	go s.send(s.sub)
}

// sdpFrag is a trickle-ICE SDP fragment (RFC 8840): ICE credentials, the
// media section's mid, candidates and end-of-candidates.
type sdpFrag struct {
	ufrag, pwd, mid string
	candidates      []string // without the "a=" prefix
	end             bool
}

func parseFrag(frag string) sdpFrag {
	var f sdpFrag
	for _, line := range strings.Split(frag, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "a=mid:"):
			if f.mid == "" {
				f.mid = strings.TrimPrefix(line, "a=mid:")
			}
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			f.pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=candidate:"):
			f.candidates = append(f.candidates, strings.TrimPrefix(line, "a="))
		case line == "a=end-of-candidates":
			f.end = true
		}
	}
	return f
}

// sdpAttr returns the first value of attribute a=name: in sdp.
func sdpAttr(sdp, name string) string {
	for _, line := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a="+name+":"); ok {
			return v
		}
	}
	return ""
}

// patch applies a trickle-ICE fragment. New ICE credentials in it mean an
// ICE restart (RFC 9725 §4.4.2): camd restarts ICE and returns the fragment
// with its own new credentials and candidates, and a new ETag.
func (s *session) patch(frag string) (answer string, restarted bool, err error) {
	s.patchMu.Lock()
	defer s.patchMu.Unlock()
	f := parseFrag(frag)
	remote := s.pc.RemoteDescription()
	if remote == nil {
		return "", false, fmt.Errorf("%w: no remote description", errBadCandidate)
	}
	if f.ufrag != "" && f.ufrag != sdpAttr(remote.SDP, "ice-ufrag") {
		if f.pwd == "" {
			return "", false, fmt.Errorf("%w: ICE restart without a=ice-pwd", errBadCandidate)
		}
		if answer, err = s.restartICE(remote.SDP, f); err != nil {
			return "", false, err
		}
		restarted = true
	}
	if err := s.addCandidates(f); err != nil {
		return "", restarted, err
	}
	s.log.Debug("trickle", "restart", restarted, "candidates", f.candidates, "end", f.end)
	return answer, restarted, nil
}

func (s *session) addCandidates(f sdpFrag) error {
	for _, c := range f.candidates {
		init := webrtc.ICECandidateInit{Candidate: c}
		if f.mid != "" {
			mid := f.mid
			init.SDPMid = &mid
		}
		if err := s.pc.AddICECandidate(init); err != nil {
			return fmt.Errorf("%w: %q: %v", errBadCandidate, c, err)
		}
		s.resolveLocal([]remoteCandidate{{candidate: c, mid: f.mid}})
	}
	return nil
}

// restartICE renegotiates with the viewer's new credentials: the previous
// offer with its ICE lines replaced stands in for the new offer, which pion
// takes as an ICE restart (new local credentials, candidates gathered anew).
func (s *session) restartICE(prevOffer string, f sdpFrag) (string, error) {
	var b strings.Builder
	for _, line := range strings.SplitAfter(prevOffer, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "a=ice-ufrag:"):
			b.WriteString("a=ice-ufrag:" + f.ufrag + "\r\n")
		case strings.HasPrefix(t, "a=ice-pwd:"):
			b.WriteString("a=ice-pwd:" + f.pwd + "\r\n")
		case strings.HasPrefix(t, "a=candidate:"), t == "a=end-of-candidates":
		default:
			b.WriteString(line)
		}
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: b.String()}); err != nil {
		return "", fmt.Errorf("%w: ICE restart: %v", errBadCandidate, err)
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("ICE restart: CreateAnswer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("ICE restart: SetLocalDescription: %w", err)
	}
	select {
	case <-gathered:
	case <-time.After(s.gatherTimeout):
	}
	local := s.pc.LocalDescription().SDP
	out := []string{
		"a=ice-ufrag:" + sdpAttr(local, "ice-ufrag"),
		"a=ice-pwd:" + sdpAttr(local, "ice-pwd"),
	}
	if opts := sdpAttr(local, "ice-options"); opts != "" {
		out = append(out, "a=ice-options:"+opts)
	}
	for _, line := range strings.Split(local, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "m=") || strings.HasPrefix(t, "a=mid:") || strings.HasPrefix(t, "a=candidate:") {
			out = append(out, t)
		}
	}
	out = append(out, "a=end-of-candidates")
	s.mu.Lock()
	s.restarts++
	s.etag = fmt.Sprintf(`"%s-%d"`, s.id, s.restarts)
	s.mu.Unlock()
	s.log.Info("ICE restart", "restarts", s.restarts)
	return strings.Join(out, "\r\n") + "\r\n", nil
}

// currentETag identifies the session's ICE session (it changes on restart).
func (s *session) currentETag() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.etag
}

func (s *session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close ends the session: the hub feed, the PeerConnection and the
// goroutines. It is safe to call more than once and from any goroutine.
func (s *session) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		if s.timeout != nil {
			s.timeout.Stop()
		}
		sub := s.sub
		s.mu.Unlock()
		close(s.done)
		if sub != nil {
			sub.Close()
		}
		if s.detach != nil {
			s.detach() // releases the lease at once: the drone hovers
		}
		if err := s.pc.Close(); err != nil {
			s.log.Debug("close", "err", err)
		}
		s.wg.Wait()
		s.log.Info("viewer gone", "duration", time.Since(s.created).Round(time.Second), "packets", s.packets.Load(),
			"nacked", s.nacked.Load(), "unrepaired", s.unrepaired.Load(), "pli", s.pli.Load())
		if s.onClose != nil {
			s.onClose(s)
		}
	})
}
