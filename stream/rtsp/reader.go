package rtsp

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/camd-project/camd/stream"
)

// payloadType is the dynamic RTP payload type of the H.264 track.
const payloadType = 96

// session is one reader: SETUP makes it, PLAY starts its feed, TEARDOWN
// or the end of its connection stops it.
type session struct {
	c           *conn
	id          string
	ssrc        uint32
	channel     int // TCP: the interleaved channels of RTP and RTCP
	rtcpChannel int
	udp         *net.UDPAddr // UDP: where RTP goes
	udpRTCP     *net.UDPAddr // UDP: where RTCP goes

	mu      sync.Mutex
	sub     *stream.Subscriber // nil until PLAY
	since   time.Time
	stopped bool

	sent atomic.Uint64
}

func newSession(c *conn) *session {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return &session{c: c, id: hex.EncodeToString(b[:8]), ssrc: binary.BigEndian.Uint32(b[8:])}
}

func (s *session) transport() string {
	if s.udp != nil {
		return "udp"
	}
	return "tcp"
}

func (s *session) playing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sub != nil && !s.stopped
}

// play subscribes to the hub, which asks for a keyframe, and starts
// writing from it. A second PLAY changes nothing.
func (s *session) play() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sub != nil || s.stopped {
		return
	}
	s.sub = s.c.s.src.Subscribe()
	s.since = time.Now()
	srv := s.c.s
	srv.wg.Add(1) // the connection's goroutine is counted: Close is still waiting
	go func(sub *stream.Subscriber) {
		defer srv.wg.Done()
		s.run(sub)
	}(s.sub)
	srv.log.Info("RTSP reader playing", "remote", s.c.remote, "transport", s.transport())
}

// stop ends the feed and frees the session's slot.
func (s *session) stop(reason string) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	sub := s.sub
	s.mu.Unlock()
	s.c.s.release()
	if sub == nil {
		return
	}
	sub.Close()
	st := sub.Stats()
	s.c.s.log.Info("RTSP reader gone", "remote", s.c.remote, "transport", s.transport(),
		"access_units", s.sent.Load(), "dropped", st.Dropped, "reason", reason)
}

func (s *session) stats() ReaderStats {
	s.mu.Lock()
	sub, since := s.sub, s.since
	s.mu.Unlock()
	st := ReaderStats{Remote: s.c.remote, Transport: s.transport(), Since: since, Sent: s.sent.Load()}
	if sub != nil {
		st.Dropped = sub.Stats().Dropped
	}
	return st
}

// senderReportEvery is how often a reader gets an RTCP sender report,
// which ties the RTP clock to wall-clock time (RFC 3550 section 6.4.1).
const senderReportEvery = 5 * time.Second

// run writes each access unit with this reader's sequence numbers and
// SSRC, and a sender report after the first and then every
// senderReportEvery. Over TCP a whole unit goes out in one write: while
// it blocks, the hub drops units for this reader (and it resumes on a
// keyframe); a write that blocks for WriteTimeout closes the connection.
// Over UDP, packets go out one by one and nothing blocks.
func (s *session) run(sub *stream.Subscriber) {
	var (
		seq             uint16
		buf             []byte
		packets, octets uint32
		lastSR          time.Time
	)
	for u := range sub.C() {
		payloads := u.Payloads()
		buf = buf[:0]
		for i, p := range payloads {
			h := rtp.Header{
				Version:        2,
				PayloadType:    payloadType,
				SequenceNumber: seq,
				Timestamp:      u.Timestamp(),
				SSRC:           s.ssrc,
				Marker:         i == len(payloads)-1,
			}
			seq++
			packets++
			octets += uint32(len(p))
			start := len(buf)
			if s.udp == nil {
				n := h.MarshalSize() + len(p)
				buf = append(buf, '$', byte(s.channel), byte(n>>8), byte(n))
			}
			buf, _ = appendHeader(buf, &h)
			buf = append(buf, p...)
			if s.udp != nil {
				if _, err := s.c.s.rtp.WriteTo(buf[start:], s.udp); err != nil {
					s.c.s.log.Debug("RTSP: UDP write", "remote", s.udp, "err", err)
				}
				buf = buf[:0]
			}
		}
		if now := time.Now(); now.Sub(lastSR) >= senderReportEvery {
			lastSR = now
			sr := &rtcp.SenderReport{SSRC: s.ssrc, NTPTime: ntpTime(u.Captured()), RTPTime: u.Timestamp(),
				PacketCount: packets, OctetCount: octets}
			if b, err := sr.Marshal(); err == nil {
				if s.udp == nil {
					buf = append(buf, '$', byte(s.rtcpChannel), byte(len(b)>>8), byte(len(b)))
					buf = append(buf, b...)
				} else if _, err := s.c.s.rtcp.WriteTo(b, s.udpRTCP); err != nil {
					s.c.s.log.Debug("RTSP: UDP RTCP write", "remote", s.udpRTCP, "err", err)
				}
			}
		}
		if s.udp == nil {
			if err := s.c.writeRaw(buf); err != nil {
				s.c.s.log.Info("RTSP reader stalled; closing", "remote", s.c.remote, "err", err)
				s.c.nc.Close()
				return
			}
		}
		s.sent.Add(1)
	}
}

// ntpTime is t in the 64-bit NTP format: seconds since 1900 and a binary
// fraction.
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2208988800
	secs := uint64(t.Unix()) + unixToNTP
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// appendHeader appends the marshalled RTP header to buf.
func appendHeader(buf []byte, h *rtp.Header) ([]byte, error) {
	n := h.MarshalSize()
	start := len(buf)
	buf = append(buf, make([]byte, n)...)
	_, err := h.MarshalTo(buf[start:])
	return buf, err
}
