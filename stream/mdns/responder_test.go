package mdns

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func TestGoodbyeOnShutdown(t *testing.T) {
	l, m, obs := claimedLAN(t)
	l.stop(m)
	rs := obs.responses(t)
	if len(rs) != 2 {
		t.Fatalf("got %d goodbye packets, want 2 (IPv4 and IPv6 group)", len(rs))
	}
	published := m.r.id.records(m.ep.addrs)
	for _, r := range rs {
		if len(r.m.Answers) != len(published) {
			t.Errorf("goodbye to %v carries %d records, want all %d", r.p.Dst, len(r.m.Answers), len(published))
		}
		for _, a := range r.m.Answers {
			if a.TTL != 0 {
				t.Errorf("goodbye record %s %s has TTL %d", a.Name, a.Type, a.TTL)
			}
		}
		for _, p := range published {
			if len(find(r.m.Answers, p.Name, p.Type)) == 0 {
				t.Errorf("no goodbye for %s %s", p.Name, p.Type)
			}
		}
	}
}

func TestDefendAgainstStaleGoodbye(t *testing.T) {
	l, m, obs := claimedLAN(t)
	// Someone (a previous run of camd, say) says goodbye for our record.
	answerAs(t, obs, record{Name: "camd.local.", Type: dnsmessage.TypeA, Flush: true, Addr: netip.MustParseAddr("10.0.0.1")})
	l.settle()
	n := 0
	for _, r := range obs.responses(t) {
		if isAnnouncement(r.m) {
			n++
		}
	}
	if n != 2 { // one packet per group
		t.Errorf("%d announcements after a goodbye for our record, want 2", n)
	}
	if !m.r.Claimed() || m.r.Name() != "camd" {
		t.Errorf("claimed %v name %q after defending", m.r.Claimed(), m.r.Name())
	}
}

func TestNoGoodbyeBeforeClaim(t *testing.T) {
	l := newLAN(t)
	obs := l.observer("10.0.0.99")
	m := l.start(Options{}, "10.0.0.1")
	l.settle()
	l.stop(m)
	if rs := obs.responses(t); len(rs) != 0 {
		t.Errorf("sent %d responses although nothing was announced", len(rs))
	}
}

func TestAddressChange(t *testing.T) {
	l, m, obs := claimedLAN(t)
	m.setAddrs("10.0.0.2", "fe80::1")
	l.advance(m.r.cfg.poll + 2*time.Second)
	var goodbye, announced []record
	for _, r := range obs.responses(t) {
		for _, a := range find(r.m.Answers, "camd.local.", dnsmessage.TypeA) {
			if a.TTL == 0 {
				goodbye = append(goodbye, a)
			} else if isAnnouncement(r.m) {
				announced = append(announced, a)
			}
		}
	}
	old, fresh := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	if len(goodbye) == 0 || goodbye[0].Addr != old {
		t.Errorf("goodbyes %+v, want one for %v", goodbye, old)
	}
	// Two announcements, each to both groups.
	if len(announced) != 2*announceCount {
		t.Fatalf("%d announcements of the A record, want %d", len(announced), 2*announceCount)
	}
	for _, a := range announced {
		if a.Addr != fresh {
			t.Errorf("announced %v, want %v", a.Addr, fresh)
		}
	}
	if !m.r.Claimed() || m.r.Name() != "camd" {
		t.Errorf("after an address change: claimed %v name %q", m.r.Claimed(), m.r.Name())
	}
	if strings.Contains(l.logs.String(), "probing again") {
		t.Errorf("our own goodbye was taken for a conflict:\n%s", l.logs)
	}
}

func TestNewInterfaceProbesAgain(t *testing.T) {
	l := newLAN(t)
	obs := l.observer("10.0.0.99")
	m := l.start(Options{}, "10.0.0.1")
	m.setAddrs() // the interface loses its address
	l.advance(10 * time.Second)
	obs.drain(t)
	m.setAddrs("10.0.0.1") // and gets it back: a new link
	var probes int
	for _, s := range l.collect(obs, 10*time.Second) {
		if isProbe(s.m) {
			probes++
		}
	}
	if probes != probeCount || !m.r.Claimed() {
		t.Errorf("%d probes after the interface came back (claimed %v), want %d", probes, m.r.Claimed(), probeCount)
	}
}

func TestRunTwice(t *testing.T) {
	l, m, _ := claimedLAN(t)
	_ = l
	if err := m.r.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run: %v, want ErrRunning", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, c := range []struct {
		opts Options
		want error
	}{
		{Options{Port: 0}, ErrBadPort},
		{Options{Port: 70000}, ErrBadPort},
		{Options{Port: 80, Name: "-camd"}, ErrBadName},
		{Options{Port: 80, Name: "cam.d"}, ErrBadName},
		{Options{Port: 80, Name: "cam_d"}, ErrBadName},
		{Options{Port: 80, Instance: "camd on pi.lan"}, ErrBadInstance},
		{Options{Port: 80, Instance: "bell\a"}, ErrBadInstance},
		{Options{Port: 80, TXT: map[string]string{"a=b": "c"}}, ErrBadTXT},
		{Options{Port: 80, TXT: map[string]string{"k": string(make([]byte, 254))}}, ErrBadTXT},
	} {
		if _, err := New(c.opts); !errors.Is(err, c.want) {
			t.Errorf("New(%+v) = %v, want %v", c.opts, err, c.want)
		}
	}
	r, err := New(Options{Port: 8080})
	if err != nil {
		t.Fatalf("New with defaults: %v", err)
	}
	if r.Name() != "camd" || r.Instance() == "" {
		t.Errorf("defaults: name %q instance %q", r.Name(), r.Instance())
	}
}
