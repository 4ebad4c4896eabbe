// Package whiptest is a WHIP endpoint (RFC 9725) built on pion, as a media
// server would be, for tests of camd's push: it checks the Bearer token,
// answers the offer, depacketizes the H.264 it receives, checks that it
// starts on an IDR with its parameter sets, and sends REMB and PLI like an
// SFU. It is not part of camd.
package whiptest

import (
	"encoding/json"
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

// Stats is what the ingest saw, also served as JSON on GET /stats.
type Stats struct {
	Posts, Deletes int
	Live           int // sessions not deleted or dropped
	Units          int // access units received
	IDRs           int // of which IDRs
	// FirstIDR and SPSFirst say whether the first access unit of the
	// first session was an IDR and carried SPS and PPS.
	FirstIDR, SPSFirst bool
	IDRsAfterPLI       int // IDRs since the last SendPLI
	PLIs               int
	Errors             []string
}

// Ingest is the endpoint: an http.Handler for POST /whip, DELETE
// /whip/<n>, OPTIONS, and GET /stats.
type Ingest struct {
	token string
	remb  int
	out   io.Writer

	mu      sync.Mutex
	fail    []int
	pcs     map[string]*webrtc.PeerConnection
	st      Stats
	pliSent bool
}

// New returns an ingest that wants token and, when remb > 0, reports that
// many bits per second as REMB every 100 ms (it offers no transport-wide
// feedback, so the REMB is the estimate a sender sees). Received access
// units are written to out (Annex-B) when it is not nil.
func New(token string, remb int, out io.Writer) *Ingest {
	return &Ingest{token: token, remb: remb, out: out, pcs: make(map[string]*webrtc.PeerConnection)}
}

// Fail makes the next POSTs answer these status codes, in order.
func (g *Ingest) Fail(codes ...int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fail = append(g.fail, codes...)
}

func (g *Ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/stats" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(g.Stats())
		return
	}
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
		g.st.Deletes++
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

func (g *Ingest) post(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.st.Posts++
	n := g.st.Posts
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
	offer, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	pc, err := g.peer()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fail := func(code int, err error) {
		_ = pc.Close()
		g.note("POST: %v", err)
		http.Error(w, err.Error(), code)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		fail(http.StatusInternalServerError, err)
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

// peer is a receiving PeerConnection with NACK, PLI and REMB.
func (g *Ingest) peer() (*webrtc.PeerConnection, error) {
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
		go g.read(t)
		if g.remb > 0 {
			go g.sendREMB(pc, uint32(t.SSRC()))
		}
	})
	return pc, nil
}

// read depacketizes the track and checks it.
func (g *Ingest) read(t *webrtc.TrackRemote) {
	var depack codecs.H264Packet
	var au []byte
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		if len(pkt.Payload) == 0 {
			continue // padding: a sender's probe
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
		types := NALTypes(au)
		idr := types[5]
		g.mu.Lock()
		if g.st.Units == 0 {
			g.st.FirstIDR = idr
			g.st.SPSFirst = types[7] && types[8]
		}
		g.st.Units++
		if idr {
			g.st.IDRs++
			if g.pliSent {
				g.st.IDRsAfterPLI++
			}
		}
		if g.out != nil {
			if _, err := g.out.Write(au); err != nil {
				g.st.Errors = append(g.st.Errors, err.Error())
			}
		}
		g.mu.Unlock()
		au = au[:0]
	}
}

// NALTypes lists the NAL unit types in an Annex-B access unit.
func NALTypes(au []byte) map[byte]bool {
	out := map[byte]bool{}
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 {
			out[au[i+3]&0x1f] = true
			i += 3
		}
	}
	return out
}

func (g *Ingest) sendREMB(pc *webrtc.PeerConnection, ssrc uint32) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for range t.C {
		if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(g.remb), SSRCs: []uint32{ssrc}}}); err != nil {
			return
		}
	}
}

// SendPLI asks every publisher for a keyframe.
func (g *Ingest) SendPLI() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pliSent, g.st.IDRsAfterPLI = true, 0
	for _, pc := range g.pcs {
		for _, r := range pc.GetReceivers() {
			if t := r.Track(); t != nil {
				_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
				g.st.PLIs++
			}
		}
	}
}

// Drop closes every session without a word to the publisher, as a
// restarting server does.
func (g *Ingest) Drop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, pc := range g.pcs {
		_ = pc.Close()
		delete(g.pcs, k)
	}
}

func (g *Ingest) note(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.st.Errors = append(g.st.Errors, fmt.Sprintf(format, args...))
}

// Stats returns a copy of the counters.
func (g *Ingest) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.st
	s.Live = len(g.pcs)
	s.Errors = append([]string(nil), g.st.Errors...)
	return s
}
