package mdns

import (
	"log/slog"
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// checkTransport fails the test if the Responder sends a packet that does
// not parse.
type checkTransport struct{ t *testing.T }

func (c checkTransport) Read() (Packet, error) { return Packet{}, errClosed }
func (c checkTransport) Join(Interface) error  { return nil }
func (c checkTransport) Close() error          { return nil }
func (c checkTransport) Write(b []byte, dst netip.AddrPort, _ int) error {
	if _, err := parseMessage(b); err != nil {
		c.t.Errorf("sent an unparsable packet to %v: %v", dst, err)
	}
	return nil
}

func fuzzResponder(t *testing.T, p phase) *Responder {
	r, err := New(Options{Port: 8080, Instance: "cam", Clock: newFakeClock(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r.tr = checkTransport{t}
	r.ifaces = map[int]Interface{1: {Index: 1, Name: "eth0", Addrs: []netip.Addr{
		netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fe80::1")}}}
	r.phase = p
	return r
}

func fuzzSeeds(t testing.TB) [][]byte {
	id := testIdentity()
	recs := id.records([]netip.Addr{netip.MustParseAddr("10.0.0.2")})
	pack := func(h dnsmessage.Header, qs []dnsmessage.Question, an, ns, ar []record) []byte {
		b, err := packMessage(h, qs, an, ns, ar)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	resp := dnsmessage.Header{Response: true, Authoritative: true}
	all := []dnsmessage.Question{
		question("camd.local.", dnsmessage.TypeALL, true),
		question("cam._camd._tcp.local.", dnsmessage.TypeALL, false),
	}
	return [][]byte{
		pack(dnsmessage.Header{}, all, nil, recs[:3], nil), // a probe
		pack(resp, nil, recs, nil, nil),                    // an announcement
		pack(resp, nil, withTTL(recs, 0, false), nil, nil), // goodbyes
		pack(dnsmessage.Header{ID: 7}, []dnsmessage.Question{question("_camd._tcp.local.", dnsmessage.TypePTR, false)}, recs[4:5], nil, nil),
		pack(dnsmessage.Header{}, []dnsmessage.Question{question(servicesEnum, dnsmessage.TypePTR, true)}, nil, nil, nil),
		{},
		{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}, // a name that points at itself
		[]byte("not a dns packet at all, just text"),
	}
}

// FuzzHandlePacket feeds any bytes to the packet handler in every phase:
// it must not panic, and whatever it sends must parse.
func FuzzHandlePacket(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, uint16(5353))
		f.Add(s, uint16(40000))
	}
	f.Fuzz(func(t *testing.T, data []byte, port uint16) {
		for _, p := range []phase{phaseProbe, phaseAnnounce, phaseRun} {
			r := fuzzResponder(t, p)
			for _, src := range []string{"10.0.0.2", "fe80::2"} {
				r.handlePacket(Packet{Data: data, Src: netip.AddrPortFrom(netip.MustParseAddr(src), port), IfIndex: 1})
			}
			r.Peers()
			r.mu.Lock()
			out, _ := r.tickLocked(r.clock.Now())
			r.mu.Unlock()
			r.send(out)
		}
	})
}
