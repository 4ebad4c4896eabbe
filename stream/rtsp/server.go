// Package rtsp serves camd's one H.264 encode over RTSP (RFC 2326), for
// players, recorders and NVRs that do not speak WebRTC: ffmpeg, VLC,
// Frigate, Home Assistant, Blue Iris.
//
// It is a small play-only server: OPTIONS, DESCRIBE, SETUP, PLAY,
// TEARDOWN and GET_PARAMETER/SET_PARAMETER as keep-alives, one H.264
// track, RTP inside the RTSP connection (TCP, interleaved) or over UDP
// unicast with RTCP sender reports, Basic and Digest authentication. Messages, headers and
// authentication come from gortsplib's protocol packages (pkg/base,
// pkg/headers, pkg/auth); gortsplib's own Server is not used, because with
// its publishing, multicast, RTSPS and codec support it would grow the
// static binary by about 0.8 MB (measured 2026-11) for nothing camd needs.
//
// Every reader is a subscriber of the same hub as the WebRTC viewers: it
// starts on a fresh keyframe, asked for at PLAY, and a reader that falls
// behind (its TCP connection backs up) drops whole access units and
// resumes on the next keyframe, without slowing the encoder or anyone
// else. There is no second encode.
package rtsp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/camd-project/camd/stream"
)

// Source is what the server reads from; *stream.Hub is one.
type Source interface {
	// Subscribe adds a reader that receives access units from the next
	// keyframe on, and asks the encoder for that keyframe.
	Subscribe() *stream.Subscriber
	// ParamSets returns the latest SPS and PPS, for the SDP.
	ParamSets() (sps, pps []byte)
}

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	// Addr is the TCP listen address (default ":8554").
	Addr string
	// UDPPort is the port RTP leaves from with the UDP transport; RTCP
	// uses UDPPort+1. It must be even. 0 offers TCP only.
	UDPPort int
	// UDPHost is the address the UDP ports bind to (default all).
	UDPHost string
	// Path is the stream's path: rtsp://host:port/<Path> (default "camd").
	Path string
	// Password, when set, makes every reader authenticate with RTSP Basic
	// or Digest authentication: it returns the password that user must
	// give, or false to turn the user away. Digest needs the password
	// itself, not a yes or no on what the client sent, hence this shape.
	// nil serves anyone.
	Password func(user string) (string, bool)
	// MaxReaders caps concurrent sessions (default 16); beyond it SETUP
	// answers 503.
	MaxReaders int
	// IdleTimeout closes a connection that sends no request for this long
	// before it plays (default 60 s). A playing connection lives as long
	// as it is open.
	IdleTimeout time.Duration
	// WriteTimeout closes a TCP reader whose connection accepts nothing
	// for this long (default 10 s); before that it only drops frames.
	WriteTimeout time.Duration
	Logger       *slog.Logger
}

// Server is the RTSP server. Start it, then Run it until its context ends.
type Server struct {
	src  Source
	opts Options
	log  *slog.Logger

	ln       net.Listener
	rtp      net.PacketConn // nil without UDP
	rtcp     net.PacketConn
	wg       sync.WaitGroup // accept loop, connections, readers, UDP drains
	doneOnce sync.Once
	done     chan struct{} // closed by Close, or when accepting fails
	failed   error         // why accepting failed

	mu       sync.Mutex
	conns    map[*conn]struct{}
	sessions int
	closed   bool
}

// New returns a server for src; nothing listens until Start.
func New(src Source, opts Options) *Server {
	if opts.Addr == "" {
		opts.Addr = ":8554"
	}
	opts.Path = strings.Trim(opts.Path, "/")
	if opts.Path == "" {
		opts.Path = "camd"
	}
	if opts.MaxReaders <= 0 {
		opts.MaxReaders = 16
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 60 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Server{src: src, opts: opts, log: opts.Logger, conns: make(map[*conn]struct{}), done: make(chan struct{})}
}

// Start opens the TCP port, and the UDP ports when configured, and
// accepts connections.
func (s *Server) Start() error {
	hint := "set rtsp.port, or rtsp.enabled = false"
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("rtsp: listen on %s: %w (%s)", s.opts.Addr, err, hint)
	}
	if p := s.opts.UDPPort; p > 0 {
		hint = "set rtsp.udp_port, 0 for TCP only"
		if p%2 != 0 {
			ln.Close()
			return fmt.Errorf("rtsp: UDP port %d is odd; RTP wants an even port (%s)", p, hint)
		}
		if s.rtp, err = net.ListenPacket("udp", net.JoinHostPort(s.opts.UDPHost, strconv.Itoa(p))); err == nil {
			if s.rtcp, err = net.ListenPacket("udp", net.JoinHostPort(s.opts.UDPHost, strconv.Itoa(p+1))); err != nil {
				s.rtp.Close()
			}
		}
		if err != nil {
			ln.Close()
			return fmt.Errorf("rtsp: UDP ports %d-%d: %w (%s)", p, p+1, err, hint)
		}
		for _, pc := range []net.PacketConn{s.rtp, s.rtcp} {
			s.wg.Add(1)
			go s.drain(pc)
		}
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	return nil
}

// Addr is the TCP address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run waits until ctx is done, then closes the server. Cancellation is not
// an error; the listener failing is.
func (s *Server) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-s.done:
	}
	s.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// Close stops the server: when it returns, every connection is closed and
// every goroutine has ended.
func (s *Server) Close() {
	s.mu.Lock()
	wasClosed := s.closed
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if !wasClosed {
		s.doneOnce.Do(func() { close(s.done) })
		s.ln.Close()
		if s.rtp != nil {
			s.rtp.Close()
			s.rtcp.Close()
		}
	}
	for _, c := range conns {
		c.nc.Close()
	}
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			s.mu.Lock()
			if !s.closed {
				s.failed = fmt.Errorf("rtsp: accept: %w", err)
			}
			s.mu.Unlock()
			s.doneOnce.Do(func() { close(s.done) })
			return
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		if len(s.conns) >= s.maxConns() {
			s.mu.Unlock()
			s.log.Debug("RTSP: too many connections", "remote", c.remote)
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// maxConns caps open connections, players or not: twice the readers, and
// some room for players that only ask (OPTIONS, DESCRIBE).
func (s *Server) maxConns() int { return 2*s.opts.MaxReaders + 8 }

// drain reads and drops what players send to the UDP ports (RTCP receiver
// reports, NAT openers), so the socket buffers never fill.
func (s *Server) drain(pc net.PacketConn) {
	defer s.wg.Done()
	buf := make([]byte, 2048)
	for {
		if _, _, err := pc.ReadFrom(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
	}
}

// reserve takes a session slot, or reports that the limit is reached.
func (s *Server) reserve() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.sessions >= s.opts.MaxReaders {
		return false
	}
	s.sessions++
	return true
}

func (s *Server) release() {
	s.mu.Lock()
	s.sessions--
	s.mu.Unlock()
}

// URL is where a player on this machine finds the stream.
func (s *Server) URL() string {
	addr := s.opts.Addr
	if s.ln != nil {
		addr = s.ln.Addr().String()
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "rtsp://" + addr + "/" + s.opts.Path
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "rtsp://" + net.JoinHostPort(host, port) + "/" + s.opts.Path
}

// ReaderStats is one playing reader.
type ReaderStats struct {
	Remote    string    `json:"remote"`
	Transport string    `json:"transport"` // "tcp" or "udp"
	Since     time.Time `json:"since"`
	Sent      uint64    `json:"access_units"` // access units written
	Dropped   uint64    `json:"dropped"`      // lost because the reader was behind
}

// Readers returns the readers that are playing.
func (s *Server) Readers() []ReaderStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []ReaderStats{}
	for c := range s.conns {
		if st, ok := c.readerStats(); ok {
			out = append(out, st)
		}
	}
	return out
}
