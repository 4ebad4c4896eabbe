package mdns

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// claimedLAN starts one Responder "camd" (instance "cam", port 8080) on
// 10.0.0.1 and fe80::1 and lets it claim its names.
func claimedLAN(t *testing.T) (*lan, *member, *memEP) {
	t.Helper()
	l := newLAN(t)
	obs := l.observer("10.0.0.99", "fe80::99")
	m := l.start(Options{Name: "camd", Instance: "cam", TXT: map[string]string{"version": "1.2"}}, "10.0.0.1", "fe80::1")
	l.advance(4 * time.Second)
	if !m.r.Claimed() {
		t.Fatal("not claimed after 4 s")
	}
	obs.drain(t)
	return l, m, obs
}

func query(qs ...dnsmessage.Question) message { return message{Questions: qs} }

func TestAnswerMulticast(t *testing.T) {
	l, _, obs := claimedLAN(t)
	obs.send(t, GroupV4, query(question("CAMD.local.", dnsmessage.TypeA, false)))
	l.settle()
	p, m := obs.one(t)
	if p.Dst != GroupV4.Addr() || p.Src != netip.MustParseAddrPort("10.0.0.1:5353") {
		t.Errorf("answer %v -> %v, want 10.0.0.1:5353 -> the IPv4 group", p.Src, p.Dst)
	}
	if !m.Header.Response || !m.Header.Authoritative || m.Header.ID != 0 || len(m.Questions) != 0 {
		t.Errorf("header %+v with %d questions, want an authoritative response, ID 0, no questions", m.Header, len(m.Questions))
	}
	want := record{Name: "camd.local.", Type: dnsmessage.TypeA, TTL: hostTTL, Flush: true, Addr: netip.MustParseAddr("10.0.0.1")}
	if len(m.Answers) != 1 || !m.Answers[0].same(want) || m.Answers[0].TTL != hostTTL || !m.Answers[0].Flush {
		t.Errorf("answers %+v, want %+v", m.Answers, want)
	}
	if aaaa := find(m.Additionals, "camd.local.", dnsmessage.TypeAAAA); len(aaaa) != 1 || aaaa[0].Addr != netip.MustParseAddr("fe80::1") {
		t.Errorf("additionals %+v, want the AAAA record", m.Additionals)
	}
	// The same question within a second is not answered again (§6).
	obs.send(t, GroupV4, query(question("camd.local.", dnsmessage.TypeA, false)))
	l.settle()
	if got := obs.responses(t); len(got) != 0 {
		t.Errorf("got %d responses to a repeated query within a second, want none", len(got))
	}
	l.advance(time.Second)
	obs.drain(t)
	obs.send(t, GroupV6, query(question("camd.local.", dnsmessage.TypeAAAA, false)))
	l.settle()
	p, m = obs.one(t)
	if p.Dst != GroupV6.Addr() || len(m.Answers) != 1 || m.Answers[0].Type != dnsmessage.TypeAAAA {
		t.Errorf("IPv6 query answered with %+v to %v", m.Answers, p.Dst)
	}
}

func TestAnswerUnicast(t *testing.T) {
	l, _, obs := claimedLAN(t)
	obs.send(t, GroupV4, query(question("camd.local.", dnsmessage.TypeA, true)))
	l.settle()
	p, m := obs.one(t)
	if p.Dst != netip.MustParseAddr("10.0.0.99") || p.Src.Port() != mdnsPort {
		t.Errorf("QU answer %v -> %v, want from port 5353 to 10.0.0.99", p.Src, p.Dst)
	}
	if len(m.Answers) != 1 || m.Answers[0].Type != dnsmessage.TypeA || !m.Answers[0].Flush {
		t.Errorf("QU answer %+v", m.Answers)
	}
}

func TestAnswerLegacyResolver(t *testing.T) {
	l, _, _ := claimedLAN(t)
	dig := l.net.endpoint(40000, "10.0.0.50")
	q := query(question("camd.local.", dnsmessage.TypeA, false))
	q.Header.ID = 0xbeef
	q.Header.RecursionDesired = true
	dig.send(t, GroupV4, q)
	l.settle()
	p, m := dig.recv(t)
	if p.Src.Port() != mdnsPort || p.Dst != netip.MustParseAddr("10.0.0.50") {
		t.Errorf("legacy answer %v -> %v", p.Src, p.Dst)
	}
	if m.Header.ID != 0xbeef || len(m.Questions) != 1 || m.Questions[0].Name.String() != "camd.local." {
		t.Errorf("legacy answer must echo ID and question: %+v %v", m.Header, m.Questions)
	}
	for _, r := range append(m.Answers, m.Additionals...) {
		if r.TTL > legacyTTL || r.Flush {
			t.Errorf("legacy record %s %s TTL %d flush %v, want TTL <= %d without flush", r.Name, r.Type, r.TTL, r.Flush, legacyTTL)
		}
	}
	if len(m.Answers) != 1 || m.Answers[0].Addr != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("answers %+v", m.Answers)
	}
}

func TestAnswerServiceBrowse(t *testing.T) {
	l, _, obs := claimedLAN(t)
	obs.send(t, GroupV4, query(question("_http._tcp.local.", dnsmessage.TypePTR, false)))
	l.settle()
	_, m := obs.one(t)
	inst := "cam._http._tcp.local."
	ptr := find(m.Answers, "_http._tcp.local.", dnsmessage.TypePTR)
	if len(ptr) != 1 || ptr[0].Target != inst || ptr[0].TTL != serviceTTL || ptr[0].Flush {
		t.Fatalf("PTR answer %+v, want %s TTL %d, shared", ptr, inst, serviceTTL)
	}
	srv := find(m.Additionals, inst, dnsmessage.TypeSRV)
	if len(srv) != 1 || srv[0].Target != "camd.local." || srv[0].Port != 8080 || !srv[0].Flush || srv[0].TTL != hostTTL {
		t.Errorf("SRV additional %+v", srv)
	}
	txt := find(m.Additionals, inst, dnsmessage.TypeTXT)
	want := []string{"path=/", "version=1.2", "whep=/whep"}
	if len(txt) != 1 || !slices.Equal(txt[0].Text, want) || !txt[0].Flush || txt[0].TTL != serviceTTL {
		t.Errorf("TXT additional %+v, want %v", txt, want)
	}
	if len(find(m.Additionals, "camd.local.", dnsmessage.TypeA)) != 1 || len(find(m.Additionals, "camd.local.", dnsmessage.TypeAAAA)) != 1 {
		t.Errorf("additionals lack the host addresses: %+v", m.Additionals)
	}

	obs.send(t, GroupV4, query(question(servicesEnum, dnsmessage.TypePTR, false)))
	l.settle()
	_, m = obs.one(t)
	var types []string
	for _, r := range find(m.Answers, servicesEnum, dnsmessage.TypePTR) {
		types = append(types, r.Target)
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"_camd._tcp.local.", "_http._tcp.local."}) {
		t.Errorf("service enumeration answered %v", types)
	}
}

func TestKnownAnswerSuppression(t *testing.T) {
	l, _, obs := claimedLAN(t)
	known := record{Name: "_camd._tcp.local.", Type: dnsmessage.TypePTR, TTL: serviceTTL - 10, Target: "cam._camd._tcp.local."}
	q := query(question("_camd._tcp.local.", dnsmessage.TypePTR, false))
	q.Answers = []record{known}
	obs.send(t, GroupV4, q)
	l.settle()
	for _, r := range obs.responses(t) {
		t.Errorf("answered a question whose answer the asker knows: %+v", r.m.Answers)
	}
	// Less than half the TTL left: answer again.
	q.Answers[0].TTL = serviceTTL/2 - 1
	obs.send(t, GroupV4, q)
	l.settle()
	var got int
	for _, r := range obs.responses(t) {
		if len(find(r.m.Answers, "_camd._tcp.local.", dnsmessage.TypePTR)) == 1 {
			got++
		}
	}
	if got != 1 {
		t.Errorf("got %d answers with a stale known answer, want 1", got)
	}
}

func TestNoAnswersWhileProbing(t *testing.T) {
	l := newLAN(t)
	obs := l.observer("10.0.0.99")
	m := l.start(Options{Name: "camd"}, "10.0.0.1")
	l.settle()
	obs.send(t, GroupV4, query(question("camd.local.", dnsmessage.TypeA, false)))
	l.settle()
	if m.r.Claimed() {
		t.Fatal("claimed before any time passed")
	}
	for _, r := range obs.responses(t) {
		t.Errorf("answered while probing: %+v", r.m.Answers)
	}
}
