package lantest

import (
	"github.com/camd-project/camd/scripts/harness"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/camd-project/camd/stream/mdns"
	"golang.org/x/net/dns/dnsmessage"
)

func dig(t *testing.T, ns string, args ...string) string {
	t.Helper()
	return harness.Run(t, "ip", append([]string{"netns", "exec", ns, "dig", "+tries=2", "+time=1"}, args...)...)
}

// TestMDNSOnVeth runs the responder in one namespace and real clients in
// the other: dig resolves the name and the services, a second responder
// with the same name moves to camd-2, both find each other, and the
// goodbyes show up in a tcpdump capture.
func TestMDNSOnVeth(t *testing.T) {
	if testing.Short() {
		t.Skip("LAN test skipped in -short mode")
	}
	harness.NeedRoot(t)
	needTools(t)
	began := time.Now()
	l := newLAN(t)
	bin := buildResponder(t)

	pcap := filepath.Join(t.TempDir(), "mdns.pcap")
	capture := start(t, l.nsB, "tcpdump", "tcpdump", "-i", l.vethB, "-n", "-U", "--immediate-mode", "-w", pcap, "udp", "port", "5353")
	capture.waitStderr(t, "listening on", 10*time.Second)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := harness.RunErr("tcpdump", "-r", pcap, "-n", "-vv")
			t.Logf("capture:\n%s", out)
		}
	})

	a := start(t, l.nsA, "responder A", bin, "-name", "camd", "-port", "8080", "-instance", "camd lan a")
	if e := a.awaitClaim(t, 10*time.Second); e.Name != "camd" {
		t.Fatalf("A claimed %q, want camd", e.Name)
	}

	// dig sends to the group from a random port, so the answer comes back
	// by unicast (RFC 6762 §6.7). dig 9.18 connects its socket to the
	// group address and drops that answer; the capture below shows it.
	out, _ := harness.RunErr("ip", "netns", "exec", l.nsB, "dig", "+tries=1", "+time=1", "@224.0.0.251", "-p", "5353", "camd.local")
	t.Logf("dig @224.0.0.251 -p 5353 camd.local:\n%s", out)

	// Asked directly, dig prints the answers.
	if got := strings.TrimSpace(dig(t, l.nsB, "@"+addrA, "-p", "5353", "camd.local", "+short")); got != addrA {
		t.Errorf("dig camd.local A = %q, want %s", got, addrA)
	}
	if got := dig(t, l.nsB, "@"+addrA, "-p", "5353", "camd.local", "AAAA", "+short"); !strings.HasPrefix(got, "fe80::") {
		t.Errorf("dig camd.local AAAA = %q, want the link-local address", got)
	}
	ptr := dig(t, l.nsB, "@"+addrA, "-p", "5353", "_http._tcp.local", "PTR", "+noall", "+answer", "+additional")
	t.Logf("dig _http._tcp.local PTR:\n%s", ptr)
	for _, want := range []string{
		`PTR	camd\032lan\032a._http._tcp.local.`,
		`SRV	0 0 8080 camd.local.`,
		`TXT	"path=/" "version=lantest" "whep=/whep"`,
		`A	` + addrA,
	} {
		if !strings.Contains(ptr, want) {
			t.Errorf("the PTR answer lacks %q", want)
		}
	}
	enum := dig(t, l.nsB, "@"+addrA, "-p", "5353", "_services._dns-sd._udp.local", "PTR", "+short")
	if !strings.Contains(enum, "_http._tcp.local.") || !strings.Contains(enum, "_camd._tcp.local.") {
		t.Errorf("service enumeration = %q, want both service types", enum)
	}

	// A second camd with the same name, on the other side of the link.
	b := start(t, l.nsB, "responder B", bin, "-name", "camd", "-port", "8081", "-instance", "camd lan b")
	if e := b.awaitClaim(t, 15*time.Second); e.Name != "camd-2" {
		t.Fatalf("B claimed %q, want camd-2", e.Name)
	}
	if !strings.Contains(b.stderr.String(), "name already in use") {
		t.Errorf("B did not log the conflict:\n%s", b.stderr)
	}
	if got := strings.TrimSpace(dig(t, l.nsA, "@"+addrB, "-p", "5353", "camd-2.local", "+short")); got != addrB {
		t.Errorf("dig camd-2.local = %q, want %s", got, addrB)
	}
	if got := strings.TrimSpace(dig(t, l.nsB, "@"+addrA, "-p", "5353", "camd.local", "+short")); got != addrA {
		t.Errorf("after B started, camd.local = %q, want still %s", got, addrA)
	}

	// Each finds the other.
	hasPeer := func(inst, host string, port int, addr string) func([]mdns.Peer) bool {
		return func(peers []mdns.Peer) bool {
			return slices.ContainsFunc(peers, func(p mdns.Peer) bool {
				return p.Instance == inst && p.Host == host && p.Port == port && p.TXT["version"] == "lantest" &&
					slices.Contains(p.Addrs, netip.MustParseAddr(addr))
			})
		}
	}
	a.awaitPeers(t, "peer B", 10*time.Second, hasPeer("camd lan b", "camd-2.local", 8081, addrB))
	b.awaitPeers(t, "peer A", 10*time.Second, hasPeer("camd lan a", "camd.local", 8080, addrA))

	// B leaves: its goodbye removes it from A's list.
	b.stop(t)
	a.awaitPeers(t, "B gone", 5*time.Second, func(p []mdns.Peer) bool { return len(p) == 0 })
	a.stop(t)
	time.Sleep(200 * time.Millisecond) // let tcpdump see the last goodbye
	capture.signal(syscall.SIGINT)
	capture.stop(t)

	pkts, err := readPcap(pcap)
	if err != nil {
		t.Fatal(err)
	}
	checkCapture(t, pkts)
	t.Logf("%d mDNS packets captured; whole test took %v", len(pkts), time.Since(began).Round(time.Millisecond))
}

var group4 = netip.MustParseAddrPort("224.0.0.251:5353")

func checkCapture(t *testing.T, pkts []packet) {
	t.Helper()
	a4 := netip.AddrPortFrom(netip.MustParseAddr(addrA), 5353)
	b4 := netip.AddrPortFrom(netip.MustParseAddr(addrB), 5353)

	// The multicast dig query and its unicast answer.
	answered := false
	for _, q := range pkts {
		if q.msg.Response || q.dst != group4 || q.src.Port() == 5353 {
			continue
		}
		for _, r := range pkts {
			if r.msg.Response && r.src == a4 && r.dst == q.src && r.msg.ID == q.msg.ID &&
				hasRecord(r.msg.Answers, "camd.local.", dnsmessage.TypeA, func(h dnsmessage.ResourceHeader, b dnsmessage.ResourceBody) bool {
					return b.(*dnsmessage.AResource).A == netip.MustParseAddr(addrA).As4() && h.TTL <= 10
				}) {
				answered = true
			}
		}
	}
	if !answered {
		t.Error("no unicast answer to dig's multicast query in the capture")
	}

	// Announcements carry the cache-flush bit and the full TTL.
	if !slices.ContainsFunc(pkts, func(p packet) bool {
		return p.msg.Response && p.src == a4 && p.dst == group4 &&
			hasRecord(p.msg.Answers, "camd.local.", dnsmessage.TypeA, func(h dnsmessage.ResourceHeader, _ dnsmessage.ResourceBody) bool {
				return h.TTL == 120 && h.Class == dnsmessage.ClassINET|1<<15
			})
	}) {
		t.Error("no announcement of camd.local with TTL 120 and the cache-flush bit")
	}

	// B probed for camd.local before moving to camd-2.local.
	for _, name := range []string{"camd.local.", "camd-2.local."} {
		if !slices.ContainsFunc(pkts, func(p packet) bool {
			return !p.msg.Response && p.src == b4 && len(p.msg.Authorities) > 0 &&
				slices.ContainsFunc(p.msg.Questions, func(q dnsmessage.Question) bool {
					return q.Name.String() == name && q.Type == dnsmessage.TypeALL
				})
		}) {
			t.Errorf("no probe from B for %s", name)
		}
	}

	// Goodbyes: every record with TTL 0, over IPv4 and IPv6.
	for _, c := range []struct {
		host, inst string
		src        netip.AddrPort
	}{{"camd.local.", "camd lan a", a4}, {"camd-2.local.", "camd lan b", b4}} {
		var v4, v6 bool
		for _, p := range pkts {
			if !p.msg.Response || len(p.msg.Answers) < 10 || !allTTLZero(p.msg.Answers) ||
				!hasRecord(p.msg.Answers, c.host, dnsmessage.TypeA, nil) ||
				!hasRecord(p.msg.Answers, c.inst+"._http._tcp.local.", dnsmessage.TypeSRV, nil) ||
				!hasRecord(p.msg.Answers, "_camd._tcp.local.", dnsmessage.TypePTR, nil) {
				continue
			}
			v4 = v4 || (p.src == c.src && p.dst == group4)
			v6 = v6 || (p.src.Addr().IsLinkLocalUnicast() && p.dst.Addr() == netip.MustParseAddr("ff02::fb"))
		}
		if !v4 || !v6 {
			t.Errorf("goodbyes for %s: IPv4 %v, IPv6 %v; want both", c.host, v4, v6)
		}
	}
}

func allTTLZero(rs []dnsmessage.Resource) bool {
	for _, r := range rs {
		if r.Header.TTL != 0 {
			return false
		}
	}
	return true
}

func hasRecord(rs []dnsmessage.Resource, name string, typ dnsmessage.Type, ok func(dnsmessage.ResourceHeader, dnsmessage.ResourceBody) bool) bool {
	for _, r := range rs {
		if r.Header.Type == typ && strings.EqualFold(r.Header.Name.String(), name) && (ok == nil || ok(r.Header, r.Body)) {
			return true
		}
	}
	return false
}
