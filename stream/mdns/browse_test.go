package mdns

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func TestTwoRespondersFindEachOther(t *testing.T) {
	l := newLAN(t)
	a := l.start(Options{Name: "camd", Instance: "cam a", Port: 8080, TXT: map[string]string{"version": "1"}}, "10.0.0.1", "fe80::1")
	b := l.start(Options{Name: "camd", Instance: "cam b", Port: 9090, TXT: map[string]string{"version": "2"}}, "10.0.0.2")
	l.advance(5 * time.Second)
	pa, pb := a.r.Peers(), b.r.Peers()
	if len(pa) != 1 || len(pb) != 1 {
		t.Fatalf("peers: a sees %+v, b sees %+v", pa, pb)
	}
	// b probed after a or lost the tiebreak; either way the names differ.
	if a.r.Name() == b.r.Name() {
		t.Fatalf("both claimed %q", a.r.Name())
	}
	want := Peer{Instance: "cam b", Host: b.r.Name() + ".local", Port: 9090,
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.2")},
		TXT:   map[string]string{"path": "/", "whep": "/whep", "version": "2"}}
	if got, _ := json.Marshal(pa[0]); string(got) != mustJSON(t, want) {
		t.Errorf("a sees %s, want %s", got, mustJSON(t, want))
	}
	if p := pb[0]; p.Instance != "cam a" || p.Port != 8080 || len(p.Addrs) != 2 || p.TXT["version"] != "1" {
		t.Errorf("b sees %+v", p)
	}

	l.stop(b)
	l.settle()
	if got := a.r.Peers(); len(got) != 0 {
		t.Errorf("after b's goodbye a still sees %+v", got)
	}
	l.advance(2 * time.Second)
	if n := len(a.r.cache.entries); n != 0 {
		t.Errorf("%d cache entries left a second after the goodbye", n)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// announceAs sends a camd instance's records from an observer endpoint.
func announceAs(t *testing.T, obs *memEP, inst, host string, port uint16, addr string, srvTTL uint32) {
	t.Helper()
	name := inst + "." + serviceCamd
	answerAs(t, obs,
		record{Name: serviceCamd, Type: dnsmessage.TypePTR, TTL: serviceTTL, Target: name},
		record{Name: name, Type: dnsmessage.TypeSRV, TTL: srvTTL, Flush: true, Target: host, Port: port},
		record{Name: name, Type: dnsmessage.TypeTXT, TTL: serviceTTL, Flush: true, Text: []string{"version=9"}},
		record{Name: host, Type: dnsmessage.TypeA, TTL: srvTTL, Flush: true, Addr: netip.MustParseAddr(addr)},
	)
}

func TestPeerExpiresAfterUnansweredRefreshes(t *testing.T) {
	l, m, obs := claimedLAN(t)
	announceAs(t, obs, "ghost", "ghost.local.", 1234, "10.0.0.7", 10)
	l.settle()
	if p := m.r.Peers(); len(p) != 1 || p[0].Host != "ghost.local" || p[0].Addrs[0] != netip.MustParseAddr("10.0.0.7") {
		t.Fatalf("peers %+v, want ghost", p)
	}
	var refreshes []time.Duration
	start := l.clk.Now()
	for _, s := range l.collect(obs, 11*time.Second) {
		if !s.m.Header.Response && slices.ContainsFunc(s.m.Questions, func(q dnsmessage.Question) bool {
			return q.Type == dnsmessage.TypeSRV && q.Name.String() == "ghost._camd._tcp.local."
		}) {
			if len(refreshes) == 0 || refreshes[len(refreshes)-1] != s.at { // one per group
				refreshes = append(refreshes, s.at)
			}
		}
	}
	want := []time.Duration{8 * time.Second, 8500 * time.Millisecond, 9 * time.Second, 9500 * time.Millisecond}
	if !slices.Equal(refreshes, want) {
		t.Errorf("SRV refresh queries at %v, want %v (80-95%% of 10 s)", refreshes, want)
	}
	if p := m.r.Peers(); len(p) != 0 {
		t.Errorf("peer still listed %v after its TTL: %+v", l.clk.Now().Sub(start), p)
	}
}

func TestCacheFlushReplacesOldData(t *testing.T) {
	l, m, obs := claimedLAN(t)
	announceAs(t, obs, "mover", "mover.local.", 1234, "10.0.0.7", hostTTL)
	l.advance(2 * time.Second)
	announceAs(t, obs, "mover", "mover.local.", 1234, "10.0.0.8", hostTTL)
	l.settle()
	if p := m.r.Peers(); len(p) != 1 || len(p[0].Addrs) != 2 {
		t.Fatalf("within the grace second both addresses stay: %+v", p)
	}
	l.advance(goodbyeGrace)
	if p := m.r.Peers(); len(p) != 1 || !slices.Equal(p[0].Addrs, []netip.Addr{netip.MustParseAddr("10.0.0.8")}) {
		t.Errorf("after the cache-flush peers are %+v, want only 10.0.0.8", p)
	}
}

func TestBrowseQueriesBackOff(t *testing.T) {
	l := newLAN(t)
	obs := l.observer("10.0.0.99")
	l.start(Options{}, "10.0.0.1")
	var at []time.Duration
	for _, s := range l.collect(obs, 20*time.Second) {
		if !s.m.Header.Response && len(s.m.Questions) > 0 && s.m.Questions[0].Type == dnsmessage.TypePTR {
			at = append(at, s.at)
		}
	}
	want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second}
	if !slices.Equal(at, want) {
		t.Errorf("browse queries at %v, want %v", at, want)
	}
}

func TestCacheIgnoresOthersAndSelf(t *testing.T) {
	c := newCache(4)
	now := time.Now()
	self := "me." + serviceCamd
	c.addPacket(now, []record{
		{Name: serviceHTTP, Type: dnsmessage.TypePTR, TTL: 10, Target: "x." + serviceHTTP},
		{Name: serviceCamd, Type: dnsmessage.TypePTR, TTL: 10, Target: self},
		{Name: self, Type: dnsmessage.TypeSRV, TTL: 10, Target: "me.local."},
		{Name: "printer.local.", Type: dnsmessage.TypeA, TTL: 10, Addr: netip.MustParseAddr("10.0.0.5")},
		{Name: serviceCamd, Type: dnsmessage.TypePTR, TTL: 10, Target: "evil.local."},
	}, self)
	if len(c.entries) != 1 {
		t.Errorf("cached %d records, want only the PTR to a non-camd name", len(c.entries))
	}
	if p := c.peers(now, self); len(p) != 0 {
		t.Errorf("peers %+v from a PTR that names no camd instance", p)
	}
	for i := range 10 {
		c.add(now, record{Name: serviceCamd, Type: dnsmessage.TypePTR, TTL: uint32(10 + i), Target: string(rune('a'+i)) + "." + serviceCamd})
	}
	if len(c.entries) > 4 {
		t.Errorf("cache grew to %d entries past its limit of 4", len(c.entries))
	}
}
