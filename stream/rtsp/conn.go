package rtsp

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/auth"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/headers"
)

// realm is the authentication realm players show when they ask for a
// password.
const realm = "camd"

// sessionTimeout is announced in the Session header; players send a
// keep-alive within it. camd keeps a session while its connection is open.
const sessionTimeout = 60

// conn is one RTSP control connection. It holds at most one session.
type conn struct {
	s      *Server
	nc     net.Conn
	br     *bufio.Reader
	remote string

	wmu   sync.Mutex // serialises writes: responses and interleaved RTP
	nonce string

	mu   sync.Mutex
	sess *session
}

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{s: s, nc: nc, br: bufio.NewReaderSize(nc, 4096), remote: nc.RemoteAddr().String()}
}

// serve reads requests until the connection ends, then ends its session.
func (c *conn) serve() {
	defer func() {
		c.nc.Close()
		c.mu.Lock()
		sess := c.sess
		c.sess = nil
		c.mu.Unlock()
		if sess != nil {
			sess.stop("connection closed")
		}
	}()
	for {
		c.mu.Lock()
		playing := c.sess != nil && c.sess.playing()
		c.mu.Unlock()
		if playing {
			_ = c.nc.SetReadDeadline(time.Time{})
		} else {
			_ = c.nc.SetReadDeadline(time.Now().Add(c.s.opts.IdleTimeout))
		}
		b, err := c.br.Peek(1)
		if err != nil {
			return
		}
		if b[0] == base.InterleavedFrameMagicByte {
			// RTCP receiver reports from a TCP player: read and drop.
			var f base.InterleavedFrame
			if err := f.Unmarshal(c.br); err != nil {
				return
			}
			continue
		}
		var req base.Request
		if err := req.Unmarshal(c.br); err != nil {
			c.s.log.Debug("RTSP: bad request", "remote", c.remote, "err", err)
			_ = c.write(&base.Response{StatusCode: base.StatusBadRequest}, nil)
			return
		}
		res, after, keep := c.handle(&req)
		if err := c.write(res, req.Header["CSeq"]); err != nil || !keep {
			return
		}
		if after != nil {
			after()
		}
	}
}

// write sends a response, echoing the request's CSeq.
func (c *conn) write(res *base.Response, cseq base.HeaderValue) error {
	if res.Header == nil {
		res.Header = base.Header{}
	}
	if cseq != nil {
		res.Header["CSeq"] = cseq
	}
	res.Header["Server"] = base.HeaderValue{"camd"}
	b, err := res.Marshal()
	if err != nil {
		return err
	}
	return c.writeRaw(b)
}

func (c *conn) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.opts.WriteTimeout))
	_, err := c.nc.Write(b)
	return err
}

func status(code base.StatusCode) *base.Response { return &base.Response{StatusCode: code} }

// handle answers one request. after, if set, runs once the response is
// sent (PLAY starts the media then, so it never precedes the answer);
// keep false closes the connection.
func (c *conn) handle(req *base.Request) (res *base.Response, after func(), keep bool) {
	switch req.Method {
	case base.Options:
		return &base.Response{StatusCode: base.StatusOK, Header: base.Header{
			"Public": base.HeaderValue{"OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER, SET_PARAMETER"},
		}}, nil, true
	case base.GetParameter, base.SetParameter:
		return status(base.StatusOK), nil, true // keep-alives
	case base.Describe:
		if res, keep := c.authorize(req); res != nil {
			return res, nil, keep
		}
		if !c.pathIs(req, false) {
			return status(base.StatusNotFound), nil, true
		}
		return &base.Response{StatusCode: base.StatusOK, Header: base.Header{
			"Content-Type": base.HeaderValue{"application/sdp"},
			"Content-Base": base.HeaderValue{strings.TrimSuffix(req.URL.CloneWithoutCredentials().String(), "/") + "/"},
		}, Body: sdp(c.s.src.ParamSets())}, nil, true
	case base.Setup:
		if res, keep := c.authorize(req); res != nil {
			return res, nil, keep
		}
		if !c.pathIs(req, true) {
			return status(base.StatusNotFound), nil, true
		}
		return c.setup(req), nil, true
	case base.Play:
		sess, res := c.session(req)
		if res != nil {
			return res, nil, true
		}
		return &base.Response{StatusCode: base.StatusOK, Header: base.Header{
			"Session": headers.Session{Session: sess.id}.Marshal(),
			"Range":   base.HeaderValue{"npt=0.000-"},
		}}, sess.play, true
	case base.Teardown:
		sess, res := c.session(req)
		if res != nil {
			return res, nil, true
		}
		c.mu.Lock()
		c.sess = nil
		c.mu.Unlock()
		sess.stop("teardown")
		return status(base.StatusOK), nil, true
	}
	// PAUSE, RECORD, ANNOUNCE and the rest: a live camera plays only.
	return status(base.StatusNotImplemented), nil, true
}

// pathIs checks the request's path: the stream's for DESCRIBE, the
// stream's or its track's for SETUP.
func (c *conn) pathIs(req *base.Request, track bool) bool {
	if req.URL == nil {
		return false
	}
	p := strings.Trim(req.URL.Path, "/")
	want := c.s.opts.Path
	return p == want || track && p == want+"/"+trackControl
}

// authorize returns nil when the request may go on, else a 401 with a
// challenge. After wrong credentials the connection is closed (keep
// false), so a password cannot be guessed at line speed.
func (c *conn) authorize(req *base.Request) (res *base.Response, keep bool) {
	if c.s.opts.Password == nil {
		return nil, true
	}
	if c.nonce == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		c.nonce = hex.EncodeToString(b[:])
	}
	var a headers.Authorization
	given := req.Header["Authorization"] != nil
	if err := a.Unmarshal(req.Header["Authorization"]); err == nil && a.Username != "" {
		if pass, ok := c.s.opts.Password(a.Username); ok {
			switch a.Method {
			case headers.AuthMethodBasic:
				if subtle.ConstantTimeCompare([]byte(a.BasicPass), []byte(pass)) == 1 {
					return nil, true
				}
			default:
				if auth.Verify(req, a.Username, pass, nil, realm, c.nonce) == nil {
					return nil, true
				}
			}
		}
	}
	if given {
		c.s.log.Info("RTSP: wrong credentials", "remote", c.remote, "user", a.Username)
	}
	return &base.Response{StatusCode: base.StatusUnauthorized, Header: base.Header{
		"WWW-Authenticate": auth.GenerateWWWAuthenticate(nil, realm, c.nonce),
	}}, !given
}

// session returns the connection's session if the request names it.
func (c *conn) session(req *base.Request) (*session, *base.Response) {
	c.mu.Lock()
	sess := c.sess
	c.mu.Unlock()
	var h headers.Session
	if sess == nil || h.Unmarshal(req.Header["Session"]) != nil || h.Session != sess.id {
		return nil, status(base.StatusSessionNotFound)
	}
	return sess, nil
}

// setup creates the session with the first transport the player offers
// that camd supports: RTP over this connection, or over UDP unicast.
func (c *conn) setup(req *base.Request) *base.Response {
	c.mu.Lock()
	existing := c.sess
	c.mu.Unlock()
	if existing != nil {
		// One track: a second SETUP has nothing left to set up.
		return status(base.StatusMethodNotValidInThisState)
	}
	var offers headers.Transports
	if err := offers.Unmarshal(req.Header["Transport"]); err != nil {
		return status(base.StatusBadRequest)
	}
	var pick *headers.Transport
	for i := range offers {
		t := &offers[i]
		multicast := t.Delivery != nil && *t.Delivery == headers.TransportDeliveryMulticast
		play := t.Mode == nil || *t.Mode == headers.TransportModePlay
		switch {
		case t.Secure || multicast || !play:
		case t.Protocol == headers.TransportProtocolTCP:
			pick = t
		case t.Protocol == headers.TransportProtocolUDP && c.s.rtp != nil && t.ClientPorts != nil:
			pick = t
		}
		if pick != nil {
			break
		}
	}
	if pick == nil {
		return status(base.StatusUnsupportedTransport)
	}
	if !c.s.reserve() {
		c.s.log.Warn("RTSP: reader limit reached", "remote", c.remote, "max", c.s.opts.MaxReaders)
		return status(base.StatusServiceUnavailable)
	}
	sess := newSession(c)
	unicast := headers.TransportDeliveryUnicast
	out := headers.Transport{Protocol: pick.Protocol, Delivery: &unicast, SSRC: &sess.ssrc}
	if pick.Protocol == headers.TransportProtocolTCP {
		ch := [2]int{0, 1}
		if pick.InterleavedIDs != nil {
			ch = *pick.InterleavedIDs
		}
		sess.channel, sess.rtcpChannel = ch[0], ch[1]
		out.InterleavedIDs = &ch
	} else {
		// To the player's address, whatever destination it names.
		ta, ok := c.nc.RemoteAddr().(*net.TCPAddr)
		if !ok {
			c.s.release()
			return status(base.StatusUnsupportedTransport)
		}
		ip := ta.IP
		sess.udp = &net.UDPAddr{IP: ip, Port: pick.ClientPorts[0]}
		sess.udpRTCP = &net.UDPAddr{IP: ip, Port: pick.ClientPorts[1]}
		out.ClientPorts = pick.ClientPorts
		out.ServerPorts = &[2]int{c.s.opts.UDPPort, c.s.opts.UDPPort + 1}
	}
	c.mu.Lock()
	c.sess = sess
	c.mu.Unlock()
	timeout := uint(sessionTimeout)
	return &base.Response{StatusCode: base.StatusOK, Header: base.Header{
		"Transport": out.Marshal(),
		"Session":   headers.Session{Session: sess.id, Timeout: &timeout}.Marshal(),
	}}
}

func (c *conn) readerStats() (ReaderStats, bool) {
	c.mu.Lock()
	sess := c.sess
	c.mu.Unlock()
	if sess == nil || !sess.playing() {
		return ReaderStats{}, false
	}
	return sess.stats(), true
}
