package mdns

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func testIdentity() identity {
	return identity{host: "camd.local.", instance: "camd on pi", port: 8080, txt: []string{"path=/", "whep=/whep"}}
}

func TestPublishedRecords(t *testing.T) {
	id := testIdentity()
	addrs := []netip.Addr{netip.MustParseAddr("192.168.1.20"), netip.MustParseAddr("fe80::1%eth0")}
	type want struct {
		name   string
		t      dnsmessage.Type
		ttl    uint32
		flush  bool
		target string
	}
	wants := []want{
		{"camd.local.", dnsmessage.TypeA, 120, true, ""},
		{"camd.local.", dnsmessage.TypeAAAA, 120, true, ""},
		{"camd on pi._http._tcp.local.", dnsmessage.TypeSRV, 120, true, "camd.local."},
		{"camd on pi._http._tcp.local.", dnsmessage.TypeTXT, 4500, true, ""},
		{"_http._tcp.local.", dnsmessage.TypePTR, 4500, false, "camd on pi._http._tcp.local."},
		{"_services._dns-sd._udp.local.", dnsmessage.TypePTR, 4500, false, "_http._tcp.local."},
		{"camd on pi._camd._tcp.local.", dnsmessage.TypeSRV, 120, true, "camd.local."},
		{"camd on pi._camd._tcp.local.", dnsmessage.TypeTXT, 4500, true, ""},
		{"_camd._tcp.local.", dnsmessage.TypePTR, 4500, false, "camd on pi._camd._tcp.local."},
		{"_services._dns-sd._udp.local.", dnsmessage.TypePTR, 4500, false, "_camd._tcp.local."},
	}
	got := id.records(addrs)
	if len(got) != len(wants) {
		t.Fatalf("%d records, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		g := got[i]
		if g.Name != w.name || g.Type != w.t || g.TTL != w.ttl || g.Flush != w.flush || g.Target != w.target {
			t.Errorf("record %d = %s %s ttl %d flush %v target %q, want %+v", i, g.Name, g.Type, g.TTL, g.Flush, g.Target, w)
		}
	}
	if got[1].Addr.Zone() != "" {
		t.Errorf("AAAA keeps the zone %q", got[1].Addr.Zone())
	}
	if got[2].Port != 8080 || !slices.Equal(got[3].Text, id.txt) {
		t.Errorf("SRV port %d, TXT %q", got[2].Port, got[3].Text)
	}
}

func TestWireRoundTrip(t *testing.T) {
	recs := testIdentity().records([]netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")})
	qs := []dnsmessage.Question{question("camd.local.", dnsmessage.TypeALL, true)}
	b, err := packMessage(dnsmessage.Header{Response: true, Authoritative: true}, qs, recs[:2], recs[2:4], recs[4:])
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Questions[0].Class != dnsmessage.ClassINET|classTopBit {
		t.Errorf("QU bit lost: class %#x", m.Questions[0].Class)
	}
	back := slices.Concat(m.Answers, m.Authorities, m.Additionals)
	if len(back) != len(recs) {
		t.Fatalf("%d records back, want %d", len(back), len(recs))
	}
	for i := range recs {
		if !back[i].same(recs[i]) || back[i].TTL != recs[i].TTL || back[i].Flush != recs[i].Flush {
			t.Errorf("record %d: sent %+v, got %+v", i, recs[i], back[i])
		}
	}
	// The cache-flush bit is the top bit of the class on the wire: the A
	// record's class follows its name (a compression pointer) and type.
	i := bytes.Index(b, []byte{0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 10, 0, 0, 1})
	if i < 0 {
		t.Errorf("no A record with class 0x8001, TTL 120 and 10.0.0.1 in % x", b)
	}
}

func TestParseDamagedPacket(t *testing.T) {
	b, err := packMessage(dnsmessage.Header{Response: true}, nil, testIdentity().records([]netip.Addr{netip.MustParseAddr("10.0.0.1")}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseMessage(b[:len(b)-3])
	if err == nil {
		t.Fatal("a cut packet parsed without error")
	}
	if len(m.Answers) == 0 || m.Answers[0].Addr != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("the records before the damage were lost: %+v", m.Answers)
	}
	if _, err := parseMessage([]byte{1, 2, 3}); err == nil {
		t.Error("3 bytes parsed without error")
	}
}

func TestEncodeTXT(t *testing.T) {
	got, err := encodeTXT(map[string]string{"version": "1.0", "path": "/cam"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"path=/cam", "version=1.0", "whep=/whep"}; !slices.Equal(got, want) {
		t.Errorf("encodeTXT = %q, want %q", got, want)
	}
	for _, bad := range []map[string]string{{"": "x"}, {"a=b": "x"}, {"k\x00": "x"}, {"k": string(make([]byte, 254))}} {
		if _, err := encodeTXT(bad); !errors.Is(err, ErrBadTXT) {
			t.Errorf("encodeTXT(%q) = %v, want ErrBadTXT", bad, err)
		}
	}
	if m := parseTXT([]string{"Path=/a", "path=/b", "flag", "=novalue"}); m["path"] != "/a" || len(m) != 2 {
		t.Errorf("parseTXT = %v, want the first path and the bare flag", m)
	}
}
