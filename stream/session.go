package stream

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// session is one WHEP viewer: a PeerConnection that sends the hub's video.
type session struct {
	id      string
	etag    string
	created time.Time
	remote  string // HTTP client address, for logs and status
	pc      *webrtc.PeerConnection
	track   *viewerTrack
	sender  *webrtc.RTPSender
	hub     *Hub
	log     *slog.Logger
	onClose func(*session)

	mu        sync.Mutex
	sub       *Subscriber
	closed    bool
	connected time.Time
	firstKey  time.Time // when the first keyframe went out
	timeout   *time.Timer

	closeOnce sync.Once
	wg        sync.WaitGroup

	packets, bytes atomic.Uint64
	pli, fir       atomic.Uint64
}

type sessionOptions struct {
	id, remote     string
	config         webrtc.Configuration
	gatherTimeout  time.Duration
	connectTimeout time.Duration
}

// newSession negotiates a viewer from a WHEP offer and returns it with the
// SDP answer (candidates included). The viewer starts receiving once ICE
// and DTLS are up.
func newSession(api *webrtc.API, hub *Hub, log *slog.Logger, offer string, o sessionOptions, onClose func(*session)) (*session, string, error) {
	pc, err := api.NewPeerConnection(o.config)
	if err != nil {
		return nil, "", fmt.Errorf("NewPeerConnection: %w", err)
	}
	s := &session{
		id:      o.id,
		etag:    `"` + o.id + `-0"`,
		created: time.Now(),
		remote:  o.remote,
		pc:      pc,
		track:   newViewerTrack(o.id),
		hub:     hub,
		log:     log.With("viewer", o.id, "remote", o.remote),
		onClose: onClose,
	}
	fail := func(err error) (*session, string, error) {
		_ = pc.Close()
		return nil, "", err
	}
	if s.sender, err = pc.AddTrack(s.track); err != nil {
		return fail(fmt.Errorf("AddTrack: %w", err))
	}
	pc.OnConnectionStateChange(s.onState)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(fmt.Errorf("%w: %v", errBadOffer, err))
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", errBadOffer, err))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(fmt.Errorf("SetLocalDescription: %w", err))
	}
	select {
	case <-gathered:
	case <-time.After(o.gatherTimeout):
		s.log.Warn("ICE gathering not complete; answering with the candidates so far", "after", o.gatherTimeout)
	}
	// The answer must send video: an offer that refused it (inactive or
	// sendonly) would give a viewer with nothing to see.
	if !s.sends() {
		return fail(fmt.Errorf("%w: the offer does not accept video from camd (it needs a recvonly or sendrecv H.264 video section)", errBadOffer))
	}
	s.wg.Add(1)
	go s.readRTCP()
	s.mu.Lock()
	s.timeout = time.AfterFunc(o.connectTimeout, func() {
		s.log.Info("viewer never connected; closing", "after", o.connectTimeout)
		s.Close()
	})
	s.mu.Unlock()
	return s, pc.LocalDescription().SDP, nil
}

func (s *session) sends() bool {
	for _, t := range s.pc.GetTransceivers() {
		if t.Sender() == s.sender {
			d := t.Direction()
			return d == webrtc.RTPTransceiverDirectionSendonly || d == webrtc.RTPTransceiverDirectionSendrecv
		}
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

func (s *session) send(sub *Subscriber) {
	defer s.wg.Done()
	for u := range sub.C() {
		n, err := s.track.writeUnit(u)
		if err != nil {
			if !errors.Is(err, errClosedPipe) {
				s.log.Debug("write failed", "err", err)
			}
			continue
		}
		if n > 0 {
			s.packets.Add(uint64(len(u.payloads)))
			s.bytes.Add(uint64(n))
			if u.keyframe {
				s.mu.Lock()
				if s.firstKey.IsZero() {
					s.firstKey = time.Now()
					s.log.Info("first keyframe sent", "after_connect", s.firstKey.Sub(s.connected).Round(time.Millisecond))
				}
				s.mu.Unlock()
			}
		}
	}
}

// readRTCP keeps RTCP flowing through the interceptors (NACK responder,
// reports) and turns PLI and FIR into keyframe requests.
func (s *session) readRTCP() {
	defer s.wg.Done()
	for {
		pkts, _, err := s.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication:
				s.pli.Add(1)
				s.hub.RequestKeyframe(ReasonPLI)
			case *rtcp.FullIntraRequest:
				s.fir.Add(1)
				s.hub.RequestKeyframe(ReasonFIR)
			}
		}
	}
}

// addCandidates applies a trickle-ICE SDP fragment (RFC 8840). It returns
// errICERestart when the fragment carries new ICE credentials.
func (s *session) addCandidates(frag string) error {
	mid := ""
	var ufrag string
	var cands []string
	for _, line := range strings.Split(frag, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=candidate:"):
			cands = append(cands, strings.TrimPrefix(line, "a="))
		}
	}
	if ufrag != "" && s.pc.RemoteDescription() != nil && !strings.Contains(s.pc.RemoteDescription().SDP, "a=ice-ufrag:"+ufrag+"\r\n") &&
		!strings.Contains(s.pc.RemoteDescription().SDP, "a=ice-ufrag:"+ufrag+"\n") {
		return errICERestart
	}
	for _, c := range cands {
		init := webrtc.ICECandidateInit{Candidate: c}
		if mid != "" {
			init.SDPMid = &mid
		}
		if err := s.pc.AddICECandidate(init); err != nil {
			return fmt.Errorf("%w: %q: %v", errBadCandidate, c, err)
		}
	}
	return nil
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
		if sub != nil {
			sub.Close()
		}
		if err := s.pc.Close(); err != nil {
			s.log.Debug("close", "err", err)
		}
		s.wg.Wait()
		s.log.Info("viewer gone", "duration", time.Since(s.created).Round(time.Second), "packets", s.packets.Load())
		if s.onClose != nil {
			s.onClose(s)
		}
	})
}

// ViewerStatus describes one viewer for /api/status.
type ViewerStatus struct {
	ID        string    `json:"id"`
	Remote    string    `json:"remote"`
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	SetupMs   float64   `json:"setup_ms,omitempty"` // POST to connected
	Packets   uint64    `json:"packets"`
	Bytes     uint64    `json:"bytes"`
	PLI       uint64    `json:"pli"`
	FIR       uint64    `json:"fir"`
	Delivered uint64    `json:"access_units"`
	Dropped   uint64    `json:"dropped"`
	Skipped   uint64    `json:"skipped"`
}

func (s *session) status() ViewerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := ViewerStatus{
		ID: s.id, Remote: s.remote, State: s.pc.ConnectionState().String(), Since: s.created,
		Packets: s.packets.Load(), Bytes: s.bytes.Load(), PLI: s.pli.Load(), FIR: s.fir.Load(),
	}
	if !s.connected.IsZero() {
		v.SetupMs = float64(s.connected.Sub(s.created).Microseconds()) / 1000
	}
	if s.sub != nil {
		st := s.sub.Stats()
		v.Delivered, v.Dropped, v.Skipped = st.Delivered, st.Dropped, st.Skipped
	}
	return v
}
