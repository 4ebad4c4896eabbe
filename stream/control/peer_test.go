package control

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/camd-project/camd/hw/tello"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// loopbackAPI makes PeerConnections that gather only 127.0.0.1 host
// candidates, so tests stay on this machine.
func loopbackAPI() *webrtc.API {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}

// page is the browser's side in Go: a PeerConnection with the two
// channels, as control.js makes them.
type page struct {
	t        *testing.T
	pc       *webrtc.PeerConnection
	ctl, stk *webrtc.DataChannel
	in       chan msg // every message from camd, both channels
	open     chan struct{}
}

// connect negotiates a page with camd's side, where AttachPeer runs before
// SetRemoteDescription as in a WHEP session. It returns when both of the
// page's channels are open.
func connect(t *testing.T, r *Router, id string) (*page, func()) {
	t.Helper()
	api := loopbackAPI()
	p := &page{t: t, in: make(chan msg, 256), open: make(chan struct{}, 2)}
	var err error
	if p.pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	no := false
	var zero uint16
	if p.ctl, err = p.pc.CreateDataChannel(ControlLabel, nil); err != nil {
		t.Fatal(err)
	}
	if p.stk, err = p.pc.CreateDataChannel(StickLabel, &webrtc.DataChannelInit{Ordered: &no, MaxRetransmits: &zero}); err != nil {
		t.Fatal(err)
	}
	for _, dc := range []*webrtc.DataChannel{p.ctl, p.stk} {
		dc.OnOpen(func() { p.open <- struct{}{} })
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			var v msg
			if !m.IsString {
				t.Errorf("camd sent a binary message %q", m.Data)
			}
			if err := json.Unmarshal(m.Data, &v); err != nil {
				t.Errorf("camd sent %q: %v", m.Data, err)
				return
			}
			p.in <- v
		})
	}

	srv, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	detach, err := r.AttachPeer(srv, id, false)
	if err != nil {
		t.Fatal(err)
	}
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := srv.SetRemoteDescription(*p.pc.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := srv.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered = webrtc.GatheringCompletePromise(srv)
	if err := srv.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := p.pc.SetRemoteDescription(*srv.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-p.open:
		case <-time.After(10 * time.Second):
			t.Fatal("channels not open within 10 s")
		}
	}
	closeAll := func() {
		p.pc.Close()
		detach()
		srv.Close()
	}
	t.Cleanup(closeAll)
	return p, closeAll
}

func (p *page) send(dc *webrtc.DataChannel, s string) {
	p.t.Helper()
	if err := dc.SendText(s); err != nil {
		p.t.Fatal(err)
	}
}

// await returns the next message of type typ, skipping others.
func (p *page) await(typ string) msg {
	p.t.Helper()
	return p.awaitWhere(typ, func(msg) bool { return true })
}

// awaitWhere returns the next message of type typ for which ok holds,
// skipping others.
func (p *page) awaitWhere(typ string, ok func(msg) bool) msg {
	p.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-p.in:
			if m.str("type") == typ && ok(m) {
				return m
			}
		case <-deadline:
			p.t.Fatalf("no such %s within 5 s", typ)
		}
	}
}

func TestAttachPeerOverDataChannels(t *testing.T) {
	checkGoroutines(t)
	g := newRig(t, Options{})
	p, _ := connect(t, g.r, "whep-session-1")

	p.send(p.ctl, `{"v":1,"type":"hello","name":"go page"}`)
	if w := p.await(TypeWelcome); w.str("viewer") != "v1" {
		t.Fatalf("welcome %v", w)
	}
	p.send(p.stk, `{"v":1,"type":"ping","t":5}`)
	if m := p.await(TypePong); m.num("t") != 5 {
		t.Fatalf("pong %v", m)
	}
	p.send(p.ctl, `{"v":1,"type":"lease.request"}`)
	if l := p.await(TypeLeaseState); l["you"] != true {
		t.Fatalf("lease %v", l)
	}
	p.send(p.stk, `{"v":1,"type":"stick","roll":10,"pitch":20,"throttle":30,"yaw":40,"seq":1}`)
	p.send(p.ctl, `{"v":1,"type":"serial.cmd","name":"pan","n":15}`)
	p.send(p.ctl, `{"v":1,"type":"stick","roll":1,"pitch":1,"throttle":1,"yaw":"x"}`)
	if e := p.await(TypeError); e.str("code") != "bad-field" {
		t.Fatalf("error %v", e)
	}
	if got := g.serial.got(); len(got) != 1 || got[0] != "P15\n" {
		t.Fatalf("serial got %q", got)
	}
	// The unordered channel may deliver the stick after the later messages.
	waitUntil(t, "the stick", func() bool { s, _ := g.pilot.stats(); return len(s) == 1 })
	if sticks, _ := g.pilot.stats(); sticks[0] != (tello.Stick{Roll: 10, Pitch: 20, Throttle: 30, Yaw: 40}) {
		t.Fatalf("sticks %v", sticks)
	}

	// The page goes away: its channel closes, the lease ends, the pilot
	// is released.
	p.pc.Close()
	waitUntil(t, "released", func() bool { _, n := g.pilot.stats(); return n == 1 })
	if g.r.Lease().Held {
		t.Fatal("lease still held")
	}
}
