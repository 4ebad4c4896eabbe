package whip

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// ingest is a WHIP endpoint built on pion, as a media server would be: it
// checks the Bearer token, answers the offer, depacketizes the H.264 it
// receives and keeps what a test asks about. It sends REMB (its estimate
// of the path) and, when asked, PLI.
type ingest struct {
	token string
	remb  int // bits per second sent as REMB every 100 ms; 0 sends none

	mu       sync.Mutex
	fail     []int // status codes for the next POSTs
	posts    int
	deletes  int
	pcs      map[string]*webrtc.PeerConnection
	units    int // access units received
	idrs     int // of which IDRs
	firstIDR bool
	spsFirst bool // the first access unit carried SPS and PPS
	idrAfter int  // IDRs received after the last PLI
	pliSent  bool
	errs     []string
}

func newIngest(token string, remb int) *ingest {
	return &ingest{token: token, remb: remb, pcs: make(map[string]*webrtc.PeerConnection)}
}

func (g *ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+g.token {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && r.URL.Path == "/whip":
		g.post(w, r)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/whip/"):
		g.mu.Lock()
		pc := g.pcs[r.URL.Path]
		delete(g.pcs, r.URL.Path)
		g.deletes++
		g.mu.Unlock()
		if pc == nil {
			http.Error(w, "no such resource", http.StatusNotFound)
			return
		}
		_ = pc.Close()
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "no", http.StatusMethodNotAllowed)
	}
}

func (g *ingest) post(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.posts++
	n := g.posts
	var code int
	if len(g.fail) > 0 {
		code, g.fail = g.fail[0], g.fail[1:]
	}
	g.mu.Unlock()
	if code != 0 {
		w.Header().Set("Retry-After", "0")
		http.Error(w, "try later", code)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/sdp" {
		http.Error(w, "want application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	offer, _ := io.ReadAll(r.Body)
	pc, err := g.peer()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		_ = pc.Close()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		_ = pc.Close()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		_ = pc.Close()
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	<-gathered
	loc := fmt.Sprintf("/whip/%d", n)
	g.mu.Lock()
	g.pcs[loc] = pc
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, pc.LocalDescription().SDP)
}

// peer is a receiving PeerConnection with NACK, PLI and REMB (no
// transport-wide feedback, so the REMB is the estimate camd sees).
func (g *ingest) peer() (*webrtc.PeerConnection, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
			RTCPFeedback: []webrtc.RTCPFeedback{
				{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "goog-remb"},
			},
		},
		PayloadType: 102,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(0) // pion's default would query .local names
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)).
		NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, rc *webrtc.RTPReceiver) {
		go func() {
			for {
				if _, _, err := rc.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		go g.read(pc, t)
		if g.remb > 0 {
			go g.sendREMB(pc, uint32(t.SSRC()))
		}
	})
	return pc, nil
}

// read depacketizes and checks the stream: the first access unit must be
// an IDR with its SPS and PPS.
func (g *ingest) read(pc *webrtc.PeerConnection, t *webrtc.TrackRemote) {
	var depack codecs.H264Packet
	var au []byte
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		if len(pkt.Payload) == 0 {
			continue
		}
		nal, err := depack.Unmarshal(pkt.Payload)
		if err != nil {
			g.note("depacketize: %v", err)
			continue
		}
		au = append(au, nal...)
		if !pkt.Marker {
			continue
		}
		types := nalTypes(au)
		au = au[:0]
		idr := types[5]
		g.mu.Lock()
		if g.units == 0 {
			g.firstIDR = idr
			g.spsFirst = types[7] && types[8]
		}
		g.units++
		if idr {
			g.idrs++
			if g.pliSent {
				g.idrAfter++
			}
		}
		g.mu.Unlock()
	}
}

// nalTypes lists the NAL unit types in an Annex-B access unit.
func nalTypes(au []byte) map[byte]bool {
	out := map[byte]bool{}
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 {
			out[au[i+3]&0x1f] = true
			i += 3
		}
	}
	return out
}

func (g *ingest) sendREMB(pc *webrtc.PeerConnection, ssrc uint32) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for range t.C {
		if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(g.remb), SSRCs: []uint32{ssrc}}}); err != nil {
			return
		}
	}
}

// sendPLI asks every publisher for a keyframe.
func (g *ingest) sendPLI() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pliSent, g.idrAfter = true, 0
	for _, pc := range g.pcs {
		for _, r := range pc.GetReceivers() {
			if t := r.Track(); t != nil {
				_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
			}
		}
	}
}

// drop closes every session without a word, as a restarting server does.
func (g *ingest) drop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, pc := range g.pcs {
		_ = pc.Close()
		delete(g.pcs, k)
	}
}

func (g *ingest) note(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.errs = append(g.errs, fmt.Sprintf(format, args...))
}

// snapshot returns a copy of the counters.
func (g *ingest) snapshot() (posts, deletes, units, idrs, idrAfter int, firstIDR, spsFirst bool, live int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.posts, g.deletes, g.units, g.idrs, g.idrAfter, g.firstIDR, g.spsFirst, len(g.pcs)
}
