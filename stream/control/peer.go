package control

import (
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"
)

// The two DataChannels of a session. Both are negotiated (RFC 8831 §6.5):
// the page and camd each create them with these ids before the offer and
// answer, so no in-band DCEP exchange is needed and no message can arrive
// before camd listens. The page's offer then carries an application
// m-section; a WHEP player without it simply gets no control.
const (
	// ControlLabel, ControlID: reliable and ordered; every message but
	// the sticks.
	ControlLabel        = "control"
	ControlID    uint16 = 1
	// StickLabel, StickID: unordered, no retransmissions; the sticks
	// (latest wins) and, from camd, telemetry and pongs.
	StickLabel        = "stick"
	StickID    uint16 = 2
)

// AttachPeer creates camd's two DataChannels on pc and attaches the viewer:
// call it on a new session's PeerConnection before SetRemoteDescription.
// Messages from either channel go to Handle; the viewer is detached when
// the control channel closes or when the returned detach is called (call
// it when the session ends; it may be called more than once).
func (r *Router) AttachPeer(pc *webrtc.PeerConnection, viewerID string, authenticated bool) (detach func(), err error) {
	yes, no := true, false
	var zero uint16
	ctlID, stkID := ControlID, StickID
	ctl, err := pc.CreateDataChannel(ControlLabel, &webrtc.DataChannelInit{Negotiated: &yes, ID: &ctlID})
	if err != nil {
		return nil, fmt.Errorf("control.AttachPeer: CreateDataChannel %s: %w", ControlLabel, err)
	}
	stk, err := pc.CreateDataChannel(StickLabel, &webrtc.DataChannelInit{
		Negotiated: &yes, ID: &stkID, Ordered: &no, MaxRetransmits: &zero,
	})
	if err != nil {
		ctl.Close()
		return nil, fmt.Errorf("control.AttachPeer: CreateDataChannel %s: %w", StickLabel, err)
	}
	var once sync.Once
	off := r.Attach(Viewer{ID: viewerID, Authenticated: authenticated, Reliable: textChannel{ctl}, Unordered: textChannel{stk}})
	detach = func() { once.Do(off) }
	ctl.OnMessage(func(m webrtc.DataChannelMessage) { r.Handle(viewerID, true, m.Data) })
	stk.OnMessage(func(m webrtc.DataChannelMessage) { r.Handle(viewerID, false, m.Data) })
	ctl.OnClose(detach)
	return detach, nil
}

// textChannel sends text messages, which the page reads as strings.
type textChannel struct{ dc *webrtc.DataChannel }

func (c textChannel) Send(msg []byte) error { return c.dc.SendText(string(msg)) }
