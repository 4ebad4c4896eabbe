package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pion/mdns/v2"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Browsers hide their host addresses behind random <uuid>.local names
// (draft-ietf-mmusic-mdns-ice-candidates). pion's ICE agent would resolve
// them with an mDNS socket pair, a read buffer and six goroutines of its
// own for every viewer; camd turns that off (api.go) and resolves the
// names of all viewers with one shared querier, handing each address to
// the viewer's agent as the candidate the name stood for.
//
// Usually the viewer's own connectivity checks reach camd first, and the
// peer-reflexive candidate they make is enough; the resolved candidate
// matters where they cannot (an ICE-lite peer, a one-way firewall).

// nameResolver resolves a .local host name to an address.
type nameResolver interface {
	resolve(ctx context.Context, name string) (netip.Addr, error)
}

// resolveTimeout is how long a viewer's name is asked for: pion's agent
// gives up after the same.
const resolveTimeout = 10 * time.Second

// mdnsQuerier is the shared resolver: one query-only pion mDNS conn,
// opened on the first name and kept until the server closes.
type mdnsQuerier struct {
	includeLoopback bool
	interfaces      []string // empty: all
	log             *slog.Logger

	mu     sync.Mutex
	conn   *mdns.Conn
	closed bool
	failed time.Time // last failure to open, so a broken host is not retried per viewer
}

var errQuerierClosed = errors.New("stream: mDNS querier closed")

// openRetry is how soon opening the mDNS sockets is tried again after it
// failed.
const openRetry = 10 * time.Second

func (q *mdnsQuerier) resolve(ctx context.Context, name string) (netip.Addr, error) {
	c, err := q.open()
	if err != nil {
		return netip.Addr{}, err
	}
	_, addr, err := c.QueryAddr(ctx, name)
	return addr, err
}

func (q *mdnsQuerier) open() (*mdns.Conn, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return nil, errQuerierClosed
	case q.conn != nil:
		return q.conn, nil
	case !q.failed.IsZero() && time.Since(q.failed) < openRetry:
		return nil, errors.New("stream: mDNS sockets unavailable")
	}
	c, err := q.listen()
	if err != nil {
		q.failed = time.Now()
		q.log.Warn("cannot resolve viewers' .local candidates; viewers still connect by checking camd's addresses", "err", err)
		return nil, err
	}
	q.conn, q.failed = c, time.Time{}
	return c, nil
}

// listen opens the mDNS sockets as pion's agent would: IPv4 and IPv6, and
// either alone is enough.
func (q *mdnsQuerier) listen() (*mdns.Conn, error) {
	var v4 *ipv4.PacketConn
	var v6 *ipv6.PacketConn
	var errs []error
	if l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}); err == nil {
		v4 = ipv4.NewPacketConn(l)
	} else {
		errs = append(errs, err)
	}
	if l, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.ParseIP("ff02::fb"), Port: 5353}); err == nil {
		v6 = ipv6.NewPacketConn(l)
	} else {
		errs = append(errs, err)
	}
	if v4 == nil && v6 == nil {
		return nil, fmt.Errorf("mDNS sockets: %w", errors.Join(errs...))
	}
	opts := []mdns.ServerOption{mdns.WithIncludeLoopback(q.includeLoopback)}
	if len(q.interfaces) > 0 {
		var ifs []net.Interface
		for _, name := range q.interfaces {
			if ifi, err := net.InterfaceByName(name); err == nil {
				ifs = append(ifs, *ifi)
			}
		}
		opts = append(opts, mdns.WithInterfaces(ifs...))
	}
	c, err := mdns.NewServer(v4, v6, opts...)
	if err != nil {
		if v4 != nil {
			_ = v4.Close()
		}
		if v6 != nil {
			_ = v6.Close()
		}
		return nil, err
	}
	return c, nil
}

func (q *mdnsQuerier) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	if q.conn != nil {
		_ = q.conn.Close()
		q.conn = nil
	}
}

// localCandidate reports the .local name of a host candidate
// ("candidate:…" as in SDP or a trickled fragment), if it has one.
func localCandidate(c string) (string, bool) {
	f := strings.Fields(c)
	if len(f) < 8 || f[6] != "typ" || f[7] != "host" {
		return "", false
	}
	name := f[4]
	if len(name) <= len(".local") || !strings.HasSuffix(strings.ToLower(name), ".local") {
		return "", false
	}
	return name, true
}

// withAddress is candidate c with its address replaced by a.
func withAddress(c string, a netip.Addr) string {
	f := strings.Fields(c)
	f[4] = a.WithZone("").String()
	return strings.Join(f, " ")
}

// remoteCandidate is a candidate of the viewer's and its media section.
type remoteCandidate struct{ candidate, mid string }

// offerCandidates are the candidates in the viewer's description.
func offerCandidates(d *webrtc.SessionDescription) []remoteCandidate {
	if d == nil {
		return nil
	}
	var parsed sdp.SessionDescription
	if parsed.UnmarshalString(d.SDP) != nil {
		return nil
	}
	var out []remoteCandidate
	for _, m := range parsed.MediaDescriptions {
		mid, _ := m.Attribute("mid")
		for _, a := range m.Attributes {
			if a.Key == "candidate" {
				out = append(out, remoteCandidate{candidate: "candidate:" + a.Value, mid: mid})
			}
		}
	}
	return out
}

// resolveLocal resolves the viewer's .local candidates in the background
// and adds each as the address it names. Each name is asked once; the
// queries end with the session.
func (s *session) resolveLocal(cands []remoteCandidate) {
	if s.names == nil {
		return
	}
	seen := map[string]bool{}
	for _, c := range cands {
		name, ok := localCandidate(c.candidate)
		if !ok || seen[c.candidate] {
			continue
		}
		seen[c.candidate] = true
		s.mu.Lock() // Close waits for s.wg once closed is set
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
			defer cancel()
			go func() {
				select {
				case <-s.done:
					cancel()
				case <-ctx.Done():
				}
			}()
			addr, err := s.names.resolve(ctx, name)
			if err != nil {
				s.log.Debug("viewer's .local candidate not resolved", "name", name, "err", err)
				return
			}
			init := webrtc.ICECandidateInit{Candidate: withAddress(c.candidate, addr)}
			if c.mid != "" {
				mid := c.mid
				init.SDPMid = &mid
			}
			if err := s.pc.AddICECandidate(init); err != nil {
				s.log.Debug("resolved candidate refused", "candidate", init.Candidate, "err", err)
				return
			}
			s.log.Debug("viewer's .local candidate resolved", "name", name, "addr", addr)
		}()
	}
}
