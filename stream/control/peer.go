package control

import (
	"errors"
	"sync"

	"github.com/pion/webrtc/v4"
)

// The two DataChannels of a session, opened by the page before its offer
// (in-band, RFC 8832 DCEP). camd does not use negotiated channels: pion
// (as of v4.2, 2026-11) loses a negotiated stream whose first message
// arrives before it has opened its side, and the page speaks at once; a
// DCEP open always comes first on its stream. A WHEP player that opens no
// channels simply gets no control.
const (
	// ControlLabel: reliable and ordered; every message but the sticks.
	ControlLabel = "control"
	// StickLabel: unordered, no retransmissions; the sticks (latest wins)
	// and, from camd, telemetry and pongs.
	StickLabel = "stick"
)

// AttachPeer attaches the viewer of pc when its page opens the control
// channels: call it on a new session's PeerConnection before
// SetRemoteDescription. Messages from either channel go to Handle; the
// viewer is detached when the control channel closes or when the returned
// detach is called (call it when the session ends; it may be called more
// than once).
func (r *Router) AttachPeer(pc *webrtc.PeerConnection, viewerID string, authenticated bool) (detach func(), err error) {
	var (
		mu       sync.Mutex
		off      func()
		detached bool
		stick    lazyChannel
	)
	detach = func() {
		mu.Lock()
		defer mu.Unlock()
		detached = true
		if off != nil {
			off()
			off = nil
		}
	}
	// pion runs this before the channel's first message is read, so the
	// handlers are in place for it.
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		switch dc.Label() {
		case ControlLabel:
			dc.OnMessage(func(m webrtc.DataChannelMessage) { r.Handle(viewerID, true, m.Data) })
			dc.OnClose(detach)
			mu.Lock()
			if !detached && off == nil {
				off = r.Attach(Viewer{ID: viewerID, Authenticated: authenticated, Reliable: textChannel{dc}, Unordered: &stick})
			}
			mu.Unlock()
		case StickLabel:
			stick.set(dc)
			dc.OnMessage(func(m webrtc.DataChannelMessage) { r.Handle(viewerID, false, m.Data) })
		default:
			_ = dc.Close() // not ours
		}
	})
	return detach, nil
}

// lazyChannel is the stick channel, which may open after the control one;
// until it does, sends fail and the Router falls back to the reliable one.
type lazyChannel struct {
	mu sync.Mutex
	dc *webrtc.DataChannel
}

func (l *lazyChannel) set(dc *webrtc.DataChannel) { l.mu.Lock(); l.dc = dc; l.mu.Unlock() }

func (l *lazyChannel) Send(msg []byte) error {
	l.mu.Lock()
	dc := l.dc
	l.mu.Unlock()
	if dc == nil {
		return errStickNotOpen
	}
	return dc.SendText(string(msg))
}

var errStickNotOpen = errors.New("control: stick channel not open")

// textChannel sends text messages, which the page reads as strings.
type textChannel struct{ dc *webrtc.DataChannel }

func (c textChannel) Send(msg []byte) error { return c.dc.SendText(string(msg)) }
