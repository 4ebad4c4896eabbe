// Package whepclient is a WHEP viewer in Go (draft-ietf-wish-whep): it
// posts an SDP offer, receives the H.264 track over WebRTC and hands out
// whole access units. camd's tests use it as an independent peer; it works
// against any WHEP server.
package whepclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// AccessUnit is one received picture, Annex-B.
type AccessUnit struct {
	Data      []byte
	Timestamp uint32    // RTP timestamp
	Received  time.Time // when its last packet arrived
}

// Options configure a Client.
type Options struct {
	Token string // sent as Authorization: Bearer
	// HTTPClient defaults to one with a 10 s timeout.
	HTTPClient *http.Client
	// Buffer is how many access units may wait in Units (default 64);
	// beyond that the oldest are dropped and counted.
	Buffer int
	// IncludeLoopback offers loopback candidates (for servers on 127.0.0.1).
	IncludeLoopback bool
	// MDNSCandidates hides the client's addresses behind random .local
	// names, as browsers do; the server must resolve them with mDNS.
	MDNSCandidates bool
	// Lite makes the client an ICE-lite endpoint (RFC 8445 §2.5): it
	// answers connectivity checks and sends none, so the server must reach
	// the client's candidates by itself (resolve its .local names, say).
	Lite bool
	// DisconnectedTimeout is how long without traffic before ICE reports
	// disconnected (default pion's 5 s); failed follows 5 s later.
	DisconnectedTimeout time.Duration
	// OnState is called on every connection state change.
	OnState func(webrtc.PeerConnectionState)
	// Feedback is the congestion feedback the client offers and sends:
	// FeedbackTWCC (the default, as browsers do), FeedbackREMB (REMB of
	// REMB bits per second every 250 ms, no transport-wide sequence
	// numbers) or FeedbackNone.
	Feedback string
	REMB     int
	// Net, when set, carries the media instead of the host's network:
	// tests give it a virtual network (pion's vnet) to lose packets on.
	Net transport.Net
}

// Client is one WHEP viewing session.
type Client struct {
	pc       *webrtc.PeerConnection
	http     *http.Client
	token    string
	resource string // absolute URL of the session resource
	offer    string // the offer as sent
	netw     transport.Net
	units    chan AccessUnit
	started  time.Time

	connected chan struct{}
	connOnce  sync.Once
	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu        sync.Mutex
	firstUnit time.Time
	seq       seqTracker

	packets, dropped, bytes, padding atomic.Uint64
}

// Dial negotiates a session with the WHEP endpoint and starts receiving.
func Dial(ctx context.Context, endpoint string, o Options) (*Client, error) {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Buffer <= 0 {
		o.Buffer = 64
	}
	m := &webrtc.MediaEngine{}
	ir := &interceptor.Registry{}
	if err := setupFeedback(m, ir, o.Feedback); err != nil {
		return nil, err
	}
	// Our own view of the interfaces, so an ICE restart can see addresses
	// that appeared since (pion reads them once otherwise).
	netw := o.Net
	if netw == nil {
		var err error
		if netw, err = stdnet.NewNet(); err != nil {
			return nil, fmt.Errorf("whepclient: %w", err)
		}
	}
	var se webrtc.SettingEngine
	se.SetNet(netw)
	// pion accepts an SRTP packet at most 64 behind the newest by default,
	// which drops retransmissions that arrive after a NACK's round trip;
	// browsers keep a window of 1024, as libwebrtc does.
	se.SetSRTPReplayProtectionWindow(1024)
	se.SetIncludeLoopbackCandidate(o.IncludeLoopback)
	se.SetLite(o.Lite)
	if o.MDNSCandidates {
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryAndGather)
	}
	if o.DisconnectedTimeout > 0 {
		se.SetICETimeouts(o.DisconnectedTimeout, 5*time.Second, o.DisconnectedTimeout/4)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("whepclient: NewPeerConnection: %w", err)
	}
	c := &Client{
		pc: pc, http: o.HTTPClient, token: o.Token, netw: netw,
		units: make(chan AccessUnit, o.Buffer), started: time.Now(),
		connected: make(chan struct{}),
		closed:    make(chan struct{}),
	}
	ok := false
	defer func() {
		if !ok {
			_ = pc.Close()
		}
	}()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return nil, fmt.Errorf("whepclient: AddTransceiverFromKind: %w", err)
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		c.wg.Add(2)
		go c.readTrack(t)
		go c.readRTCP(r)
		if o.Feedback == FeedbackREMB && o.REMB > 0 {
			c.wg.Add(1)
			go c.sendREMB(uint32(t.SSRC()), o.REMB)
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if o.OnState != nil {
			o.OnState(s)
		}
		if s == webrtc.PeerConnectionStateConnected {
			c.connOnce.Do(func() { close(c.connected) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, fmt.Errorf("whepclient: CreateOffer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return nil, fmt.Errorf("whepclient: SetLocalDescription: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	answer, loc, err := c.post(ctx, endpoint, pc.LocalDescription().SDP)
	if err != nil {
		return nil, err
	}
	c.resource = loc
	c.offer = pc.LocalDescription().SDP
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		_ = c.delete()
		return nil, fmt.Errorf("whepclient: SetRemoteDescription: %w", err)
	}
	ok = true
	return c, nil
}

// StatusError is a WHEP request the server refused.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("whep: server answered %d: %s", e.Code, bytes.TrimSpace([]byte(e.Body)))
}

func (c *Client) post(ctx context.Context, endpoint, offer string) (answer, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewBufferString(offer))
	if err != nil {
		return "", "", fmt.Errorf("whepclient: %w", err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("whepclient: POST: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("whepclient: reading answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", "", &StatusError{Code: resp.StatusCode, Body: string(body)}
	}
	base, err := url.Parse(endpoint)
	if err != nil {
		return "", "", fmt.Errorf("whepclient: %w", err)
	}
	loc, err := base.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return "", "", fmt.Errorf("whepclient: bad Location %q", resp.Header.Get("Location"))
	}
	return string(body), loc.String(), nil
}

// readTrack depacketizes H.264 and cuts access units on the marker bit.
// Late packets (retransmissions) are counted but not assembled: the
// picture they belonged to has gone out already.
func (c *Client) readTrack(t *webrtc.TrackRemote) {
	defer c.wg.Done()
	var depack codecs.H264Packet
	var au []byte
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		c.packets.Add(1)
		c.mu.Lock()
		inOrder := c.seq.add(pkt.SequenceNumber)
		c.mu.Unlock()
		if len(pkt.Payload) == 0 {
			if pkt.Padding {
				c.padding.Add(1)
			}
			continue
		}
		c.bytes.Add(uint64(len(pkt.Payload)))
		if !inOrder {
			continue
		}
		nal, err := depack.Unmarshal(pkt.Payload)
		if err == nil {
			au = append(au, nal...)
		}
		if !pkt.Marker || len(au) == 0 {
			continue
		}
		u := AccessUnit{Data: au, Timestamp: pkt.Timestamp, Received: time.Now()}
		au = nil
		c.mu.Lock()
		if c.firstUnit.IsZero() {
			c.firstUnit = u.Received
		}
		c.mu.Unlock()
		select {
		case c.units <- u:
		default:
			select { // drop the oldest to keep the newest
			case <-c.units:
				c.dropped.Add(1)
			default:
			}
			select {
			case c.units <- u:
			default:
				c.dropped.Add(1)
			}
		}
	}
}

// OfferHosts lists the addresses of the candidates the offer carried:
// IPs, or .local names when Options.MDNSCandidates hid them.
func (c *Client) OfferHosts() []string {
	var hosts []string
	for _, line := range strings.Split(c.offer, "\n") {
		if f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "a=")); len(f) >= 8 && strings.HasPrefix(f[0], "candidate:") {
			hosts = append(hosts, f[4])
		}
	}
	return hosts
}

// Units delivers received access units in order.
func (c *Client) Units() <-chan AccessUnit { return c.units }

// Connected is closed once ICE and DTLS are up.
func (c *Client) Connected() <-chan struct{} { return c.connected }

// Resource is the URL of the session on the server.
func (c *Client) Resource() string { return c.resource }

// RequestKeyframe sends a PLI to the server.
func (c *Client) RequestKeyframe() error {
	for _, r := range c.pc.GetReceivers() {
		if t := r.Track(); t != nil {
			return c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
		}
	}
	return errors.New("whepclient: no track yet")
}

// NACK asks the server to send the packets with these sequence numbers
// again (RFC 4585 generic NACK), as the client's own NACK generator does
// for gaps; tests use it to ask for packets the server no longer has.
func (c *Client) NACK(seqs ...uint16) error {
	for _, r := range c.pc.GetReceivers() {
		if t := r.Track(); t != nil {
			return c.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{
				MediaSSRC: uint32(t.SSRC()), Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}})
		}
	}
	return errors.New("whepclient: no track yet")
}

// HighestSeq is the sequence number of the newest packet received; false
// before the first.
func (c *Client) HighestSeq() (uint16, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return uint16(c.seq.highest), c.seq.init
}

// Stats are what the client received.
type Stats struct {
	// Packets counts every RTP packet received; Lost the sequence numbers
	// that never came (so far); Dropped the access units Units had no
	// room for.
	Packets, Lost, Dropped uint64
	// Recovered counts packets that came late and filled a gap:
	// retransmissions after a NACK (or reordering). Duplicates came twice.
	Recovered, Duplicates uint64
	// Bytes is the video payload received; Padding the padding-only
	// packets (a sender's bandwidth probes).
	Bytes, Padding uint64
	FirstUnit      time.Duration // from Dial to the first access unit; 0 if none yet
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{
		Packets: c.packets.Load(), Lost: c.seq.missing, Dropped: c.dropped.Load(),
		Recovered: c.seq.recovered, Duplicates: c.seq.duplicates,
		Bytes: c.bytes.Load(), Padding: c.padding.Load(),
	}
	if !c.firstUnit.IsZero() {
		s.FirstUnit = c.firstUnit.Sub(c.started)
	}
	return s
}

func (c *Client) delete() error {
	req, err := http.NewRequest(http.MethodDelete, c.resource, nil)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("whepclient: DELETE: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &StatusError{Code: resp.StatusCode}
	}
	return nil
}

// Close ends the session on the server (DELETE) and locally.
func (c *Client) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	err := c.delete()
	if cerr := c.pc.Close(); cerr != nil && err == nil {
		err = cerr
	}
	c.wg.Wait()
	c.http.CloseIdleConnections()
	return err
}

// CloseWithoutDelete drops the connection without telling the server,
// as a viewer that vanishes would.
func (c *Client) CloseWithoutDelete() error {
	c.closeOnce.Do(func() { close(c.closed) })
	err := c.pc.Close()
	c.wg.Wait()
	return err
}
