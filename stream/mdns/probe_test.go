package mdns

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// collect advances time by d and returns the messages the observer saw
// with the virtual time at which each step's packets arrived.
type seen struct {
	at time.Duration
	m  message
}

func (l *lan) collect(obs *memEP, d time.Duration) []seen {
	l.t.Helper()
	start := l.clk.Now()
	end := start.Add(d)
	var out []seen
	for {
		l.settle()
		for _, m := range obs.drain(l.t) {
			out = append(out, seen{l.clk.Now().Sub(start), m})
		}
		n, at := l.clk.armed()
		if n == 0 || at.After(end) {
			l.clk.advanceTo(end)
			l.settle()
			for _, m := range obs.drain(l.t) {
				out = append(out, seen{l.clk.Now().Sub(start), m})
			}
			return out
		}
		l.clk.advanceTo(at)
	}
}

func TestProbeThenAnnounce(t *testing.T) {
	l := newLAN(t)
	obs := l.observer("10.0.0.99")
	m := l.start(Options{Name: "camd", Instance: "cam one"}, "10.0.0.1", "fe80::1")
	var probes, announces []seen
	for _, s := range l.collect(obs, 4*time.Second) {
		switch {
		case isProbe(s.m):
			probes = append(probes, s)
		case isAnnouncement(s.m):
			announces = append(announces, s)
		}
	}
	// Each packet goes to both groups, so every probe is seen twice.
	if len(probes) != 2*probeCount {
		t.Fatalf("saw %d probe packets, want %d", len(probes), 2*probeCount)
	}
	for i := 2; i < len(probes); i += 2 {
		if gap := probes[i].at - probes[i-2].at; gap != probeWait {
			t.Errorf("probe %d came %v after the previous one, want %v", i/2+1, gap, probeWait)
		}
	}
	if probes[0].at >= probeWait {
		t.Errorf("first probe at %v, want within %v", probes[0].at, probeWait)
	}
	first := probes[0].m
	if len(first.Questions) != 3 {
		t.Fatalf("probe asks %d questions, want 3 (host and two instances)", len(first.Questions))
	}
	for i, q := range first.Questions {
		if q.Type != dnsmessage.TypeALL || q.Class&classTopBit == 0 {
			t.Errorf("first probe question %d = %v, want type ANY with the QU bit", i, q)
		}
	}
	if q := probes[2].m.Questions[0]; q.Class&classTopBit != 0 {
		t.Errorf("second probe asks for unicast: %v", q)
	}
	if got := find(first.Authorities, "camd.local.", dnsmessage.TypeA); len(got) != 1 || got[0].Addr != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("probe proposes A %v, want 10.0.0.1", got)
	}
	if got := find(first.Authorities, "cam one._camd._tcp.local.", dnsmessage.TypeSRV); len(got) != 1 || got[0].Port != 8080 {
		t.Errorf("probe proposes SRV %v", got)
	}
	if len(announces) != 2*announceCount {
		t.Fatalf("saw %d announcement packets, want %d", len(announces), 2*announceCount)
	}
	if d := announces[0].at - probes[len(probes)-1].at; d != probeWait {
		t.Errorf("first announcement %v after the last probe, want %v", d, probeWait)
	}
	if d := announces[2].at - announces[0].at; d != announceWait {
		t.Errorf("announcements %v apart, want %v", d, announceWait)
	}
	if !m.r.Claimed() || m.r.Name() != "camd" {
		t.Errorf("Claimed %v Name %q, want true camd", m.r.Claimed(), m.r.Name())
	}
	if !strings.Contains(l.logs.String(), "mdns: claimed") {
		t.Errorf("no claim in the log:\n%s", l.logs)
	}
}

// answerAs replies to m (a probe or query) as a host that owns the name
// with other data.
func answerAs(t *testing.T, obs *memEP, recs ...record) {
	t.Helper()
	obs.send(t, GroupV4, message{Header: dnsmessage.Header{Response: true, Authoritative: true}, Answers: recs})
}

func TestConflictPicksNextName(t *testing.T) {
	l := newLAN(t)
	owner := l.observer("10.0.0.99")
	m := l.start(Options{Name: "camd", Instance: "cam one"}, "10.0.0.1")
	// The owner of camd.local answers every probe for it.
	deadline := time.Now().Add(5 * time.Second)
	for !m.r.Claimed() {
		if time.Now().After(deadline) {
			t.Fatal("never claimed a name")
		}
		l.settle()
		for _, msg := range owner.drain(t) {
			if isProbe(msg) && nameIs(msg.Questions[0].Name.String(), "camd.local.") {
				answerAs(t, owner, record{Name: "camd.local.", Type: dnsmessage.TypeA, TTL: 120, Flush: true,
					Addr: netip.MustParseAddr("10.0.0.99")})
			}
		}
		l.settle()
		if n, at := l.clk.armed(); n > 0 {
			l.clk.advanceTo(at)
		}
	}
	if got := m.r.Name(); got != "camd-2" {
		t.Errorf("Name() = %q, want camd-2", got)
	}
	if got := m.r.Instance(); got != "cam one" {
		t.Errorf("Instance() = %q, want it unchanged", got)
	}
	logs := l.logs.String()
	if !strings.Contains(logs, "name already in use") || !strings.Contains(logs, "next=camd-2.local") {
		t.Errorf("the conflict was not logged:\n%s", logs)
	}
	// camd-2 is announced with the SRV target following the new name.
	l.advance(2 * time.Second)
	var srv []record
	for _, msg := range owner.drain(t) {
		if isAnnouncement(msg) {
			srv = append(srv, find(msg.Answers, "cam one._http._tcp.local.", dnsmessage.TypeSRV)...)
		}
	}
	if len(srv) == 0 || srv[0].Target != "camd-2.local." {
		t.Errorf("announced SRV %v, want target camd-2.local.", srv)
	}
}

func TestConflictAfterClaimProbesAgain(t *testing.T) {
	l := newLAN(t)
	obs := l.observer("10.0.0.99")
	m := l.start(Options{Name: "camd"}, "10.0.0.1")
	l.advance(3 * time.Second)
	if !m.r.Claimed() {
		t.Fatal("not claimed")
	}
	obs.drain(t)
	// A host that missed our probes (it was off the network) says it owns camd.local.
	other := record{Name: "camd.local.", Type: dnsmessage.TypeA, TTL: 120, Flush: true, Addr: netip.MustParseAddr("10.0.0.99")}
	answerAs(t, obs, other)
	l.settle()
	for i := 0; !m.r.Claimed() || m.r.Name() == "camd"; i++ {
		if i > 100 {
			t.Fatal("no new name after 100 steps")
		}
		for _, msg := range obs.drain(t) {
			if isProbe(msg) && nameIs(msg.Questions[0].Name.String(), "camd.local.") {
				answerAs(t, obs, other)
			}
		}
		l.settle()
		if n, at := l.clk.armed(); n > 0 {
			l.clk.advanceTo(at)
		}
	}
	if got := m.r.Name(); got != "camd-2" {
		t.Errorf("Name() = %q after a late conflict, want camd-2", got)
	}
	if !strings.Contains(l.logs.String(), "another host answers for our name") {
		t.Errorf("late conflict not logged:\n%s", l.logs)
	}
}

func TestSimultaneousProbesTiebreak(t *testing.T) {
	l := newLAN(t)
	a := l.start(Options{Name: "camd", Instance: "cam"}, "10.0.0.1")
	b := l.start(Options{Name: "camd", Instance: "cam"}, "10.0.0.2")
	l.advance(10 * time.Second)
	if !a.r.Claimed() || !b.r.Claimed() {
		t.Fatalf("claimed: a %v b %v", a.r.Claimed(), b.r.Claimed())
	}
	names := a.r.Name() + " " + b.r.Name()
	if names != "camd camd-2" && names != "camd-2 camd" {
		t.Errorf("names %q, want camd and camd-2", names)
	}
	insts := a.r.Instance() + "|" + b.r.Instance()
	if insts != "cam|cam (2)" && insts != "cam (2)|cam" {
		t.Errorf("instances %q, want cam and cam (2)", insts)
	}
	// Each sees the other as a peer.
	for _, p := range [][]Peer{a.r.Peers(), b.r.Peers()} {
		if len(p) != 1 {
			t.Errorf("peers %+v, want exactly the other one", p)
		}
	}
}

func TestTiebreakOrder(t *testing.T) {
	lo := []record{{Name: "x.local.", Type: dnsmessage.TypeA, Addr: netip.MustParseAddr("10.0.0.1")}}
	hi := []record{{Name: "x.local.", Type: dnsmessage.TypeA, Addr: netip.MustParseAddr("10.0.0.2")}}
	more := append(lo, record{Name: "x.local.", Type: dnsmessage.TypeAAAA, Addr: netip.MustParseAddr("fe80::1")})
	if compareSets(lo, hi) >= 0 || compareSets(hi, lo) <= 0 {
		t.Error("10.0.0.2 must win over 10.0.0.1")
	}
	if compareSets(lo, more) >= 0 {
		t.Error("the longer set must win when the shorter is its prefix")
	}
	if compareSets(more, more) != 0 {
		t.Error("identical sets must tie")
	}
}

func TestRenameLabels(t *testing.T) {
	for _, c := range []struct {
		base string
		n    int
		want string
	}{
		{"camd", 1, "camd"},
		{"camd", 2, "camd-2"},
		{"camd", 12, "camd-12"},
		{strings.Repeat("a", 62) + "b", 2, strings.Repeat("a", 61) + "-2"},
	} {
		if got := hostLabel(c.base, c.n); got != c.want || !validLabel(got) {
			t.Errorf("hostLabel(%q, %d) = %q, want %q", c.base, c.n, got, c.want)
		}
	}
	if got := instanceLabel("camd on pi", 3); got != "camd on pi (3)" {
		t.Errorf("instanceLabel = %q", got)
	}
	long := strings.Repeat("é", 31) // 62 bytes
	if got := instanceLabel(long, 2); len(got) > 63 || !validInstance(got) {
		t.Errorf("instanceLabel(long) = %q (%d bytes)", got, len(got))
	}
}
