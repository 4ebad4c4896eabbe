package mdns

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Options configures a Responder. Port is required; everything else has
// a default.
type Options struct {
	// Name is the host label to claim in .local. Default "camd". After a
	// conflict the Responder claims Name-2, Name-3, … (see Responder.Name).
	Name string
	// Port is the HTTP port the services point at.
	Port int
	// Instance is the DNS-SD instance name shown in network browsers.
	// Default "camd on <host name>". It must not contain a dot.
	Instance string
	// TXT is published on both services. path=/ and whep=/whep are added
	// unless set here; add version=… and the like.
	TXT map[string]string
	// Interfaces names the interfaces to use. Default: every interface that
	// is up and multicast-capable and not loopback.
	Interfaces []string
	// Logger receives conflicts, claims and errors. Default slog.Default().
	Logger *slog.Logger

	// Clock drives probing, announcing and expiry. Default: the system clock.
	Clock Clock
	// Addrs lists the interfaces and their addresses; it is polled every
	// AddrPoll. Default: the system's interfaces, filtered as described for
	// Interfaces.
	Addrs func() ([]Interface, error)
	// AddrPoll is how often Addrs is polled. Default 5 s.
	AddrPoll time.Duration
	// Transport carries the packets. Default: UDP port 5353 on 224.0.0.251
	// and ff02::fb, opened by Run.
	Transport Transport
}

// Interface is one network interface as the Responder sees it.
type Interface struct {
	Index int
	Name  string
	Addrs []netip.Addr
}

// Packet is one datagram received by a Transport.
type Packet struct {
	Data    []byte
	Src     netip.AddrPort
	Dst     netip.Addr // group or unicast address it was sent to; may be invalid
	IfIndex int
}

// Transport sends and receives mDNS datagrams. Write with a multicast
// destination sends to the group on the interface ifIndex.
type Transport interface {
	// Read blocks until a packet arrives or the transport is closed.
	Read() (Packet, error)
	Write(b []byte, dst netip.AddrPort, ifIndex int) error
	// Join makes the interface receive the mDNS groups; joining twice is
	// not an error.
	Join(ifi Interface) error
	Close() error
}

// Clock is the time source; tests inject a fake one.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a stoppable one-shot timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// The mDNS groups and port (RFC 6762 §3).
var (
	GroupV4 = netip.AddrPortFrom(netip.AddrFrom4([4]byte{224, 0, 0, 251}), 5353)
	GroupV6 = netip.AddrPortFrom(netip.MustParseAddr("ff02::fb"), 5353)
)

const mdnsPort = 5353

type config struct {
	name, instance string
	port           uint16
	txt            []string
	log            *slog.Logger
	clock          Clock
	addrs          func() ([]Interface, error)
	poll           time.Duration
	transport      Transport
}

func (o Options) config() (config, error) {
	c := config{
		name:      o.Name,
		instance:  o.Instance,
		log:       o.Logger,
		clock:     o.Clock,
		addrs:     o.Addrs,
		poll:      o.AddrPoll,
		transport: o.Transport,
	}
	if c.name == "" {
		c.name = "camd"
	}
	if !validLabel(c.name) {
		return config{}, fmt.Errorf("%w: %q", ErrBadName, c.name)
	}
	if o.Port < 1 || o.Port > 65535 {
		return config{}, fmt.Errorf("%w: %d", ErrBadPort, o.Port)
	}
	c.port = uint16(o.Port)
	if c.instance == "" {
		c.instance = defaultInstance()
	}
	if !validInstance(c.instance) {
		return config{}, fmt.Errorf("%w: %q", ErrBadInstance, c.instance)
	}
	txt, err := encodeTXT(o.TXT)
	if err != nil {
		return config{}, err
	}
	c.txt = txt
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.clock == nil {
		c.clock = systemClock{}
	}
	if c.addrs == nil {
		names := slices.Clone(o.Interfaces)
		c.addrs = func() ([]Interface, error) { return systemInterfaces(names) }
	}
	if c.poll <= 0 {
		c.poll = 5 * time.Second
	}
	return c, nil
}

// validLabel reports whether s is a host name label (RFC 1123).
func validLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validInstance reports whether s is a DNS-SD instance label (RFC 6763
// §4.1.1) that dnsmessage can carry (no dots).
func validInstance(s string) bool {
	if s == "" || len(s) > 63 || !utf8.ValidString(s) || strings.ContainsRune(s, '.') {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func defaultInstance() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "camd"
	}
	h, _, _ = strings.Cut(h, ".")
	s := "camd on " + h
	if !validInstance(s) {
		return "camd"
	}
	return s
}

// encodeTXT turns the map into sorted key=value strings, adding the
// defaults (RFC 6763 §6).
func encodeTXT(m map[string]string) ([]string, error) {
	all := map[string]string{"path": "/", "whep": "/whep"}
	for k, v := range m {
		all[k] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		if k == "" || strings.ContainsRune(k, '=') {
			return nil, fmt.Errorf("%w: key %q", ErrBadTXT, k)
		}
		for i := 0; i < len(k); i++ {
			if k[i] < 0x20 || k[i] > 0x7e {
				return nil, fmt.Errorf("%w: key %q", ErrBadTXT, k)
			}
		}
		if len(k)+1+len(all[k]) > 255 {
			return nil, fmt.Errorf("%w: %s=… is %d bytes", ErrBadTXT, k, len(k)+1+len(all[k]))
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	txt := make([]string, len(keys))
	for i, k := range keys {
		txt[i] = k + "=" + all[k]
	}
	return txt, nil
}

// systemInterfaces lists up, multicast, non-loopback interfaces (or the
// named ones) with their addresses.
func systemInterfaces(names []string) ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("net.Interfaces: %w", err)
	}
	var out []Interface
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 {
			continue
		}
		if len(names) > 0 {
			if !slices.Contains(names, ifi.Name) {
				continue
			}
		} else if ifi.Flags&net.FlagMulticast == 0 || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("net.Interface.Addrs %s: %w", ifi.Name, err)
		}
		it := Interface{Index: ifi.Index, Name: ifi.Name}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
				it.Addrs = append(it.Addrs, ip.Unmap())
			}
		}
		out = append(out, it)
	}
	return out, nil
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }
