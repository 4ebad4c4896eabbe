package stream

import (
	"net"
	"testing"
)

// TestUsableIP: IPv6 link-local addresses stay out of ICE (pion never
// announces them); every other address, IPv4 link-local included (a
// camera on a cable with no DHCP), stays in.
func TestUsableIP(t *testing.T) {
	for _, c := range []struct {
		ip   string
		keep bool
	}{
		{"192.0.2.2", true},
		{"127.0.0.1", true},
		{"169.254.10.20", true},
		{"fd00::2", true},
		{"2001:db8::1", true},
		{"::1", true},
		{"fe80::fc:ff:fe00:1", false},
		{"ff02::1", false},
	} {
		if got := usableIP(net.ParseIP(c.ip)); got != c.keep {
			t.Errorf("usableIP(%s) = %v, want %v", c.ip, got, c.keep)
		}
	}
}

// TestUDPMuxSkipsLinkLocal: the shared media socket, on this machine's real
// interfaces, listens on no IPv6 link-local address, and on every other
// address an interface has.
func TestUDPMuxSkipsLinkLocal(t *testing.T) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var linkLocal, other []string
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLoopback() {
			continue
		}
		if usableIP(n.IP) {
			other = append(other, n.IP.String())
		} else {
			linkLocal = append(linkLocal, n.IP.String())
		}
	}
	if len(linkLocal) == 0 {
		t.Skip("this machine has no IPv6 link-local address")
	}
	m, err := newUDPMux(0, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	listening := map[string]bool{}
	for _, a := range m.GetListenAddresses() {
		listening[a.(*net.UDPAddr).IP.String()] = true
	}
	for _, ip := range linkLocal {
		if listening[ip] {
			t.Errorf("the mux listens on link-local %s", ip)
		}
	}
	for _, ip := range other {
		if !listening[ip] {
			t.Errorf("the mux does not listen on %s (listening on %v)", ip, listening)
		}
	}
	t.Logf("link-local %v left out; listening on %v", linkLocal, listening)
}
