package nettest

import (
	"context"
	"fmt"
	"github.com/camd-project/camd/scripts/harness"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// needTools skips (fails in CI) without ip and tc, and without tbf.
func needTools(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("CI needs %s (Debian package iproute2)", bin)
			}
			t.Skipf("needs %s (Debian package iproute2)", bin)
		}
	}
}

// link is one viewer's namespace and its veth pair to camd's.
type link struct {
	name    string // "chromium" or "go"
	ns      string
	camdDev string // camd's side, where the rate limit sits
	dev     string // the viewer's side
	camd    string // camd's address on this link
	addr    string // the viewer's address
	rate    int    // bits per second now; 0: not limited
}

// topology is camd's namespace and one link per viewer.
type topology struct {
	camdNS string
	links  []*link
}

// newTopology makes camd's namespace and a namespace per viewer name, each
// joined to camd's by a veth pair (10.96.<i>.1 on camd's side, .2 on the
// viewer's, which routes everything through it, as Chromium needs a default
// route to gather candidates). IPv6 is off: duplicate address detection
// would leave camd's shared UDP port nothing to bind for a while. All is
// deleted when the test ends.
func newTopology(t *testing.T, viewers ...string) *topology {
	t.Helper()
	id := os.Getpid() % 100000
	top := &topology{camdNS: fmt.Sprintf("camdnet%d-cam", id)}
	addNS := func(ns string) {
		harness.Run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() {
			if out, err := harness.RunErr("ip", "netns", "del", ns); err != nil {
				t.Errorf("deleting namespace %s: %v %s", ns, err, out)
			}
		})
		harness.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		harness.Run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	addNS(top.camdNS)
	for i, name := range viewers {
		l := &link{
			name: name, ns: fmt.Sprintf("camdnet%d-%d", id, i+1),
			camdDev: fmt.Sprintf("cn%dc%d", id, i+1),
			camd:    fmt.Sprintf("10.96.%d.1", i+1), addr: fmt.Sprintf("10.96.%d.2", i+1),
		}
		viewerDev := fmt.Sprintf("cn%dv%d", id, i+1)
		l.dev = viewerDev
		addNS(l.ns)
		harness.Run(t, "ip", "link", "add", l.camdDev, "netns", top.camdNS, "type", "veth", "peer", "name", viewerDev, "netns", l.ns)
		harness.Run(t, "ip", "-n", top.camdNS, "addr", "add", l.camd+"/24", "dev", l.camdDev)
		harness.Run(t, "ip", "-n", l.ns, "addr", "add", l.addr+"/24", "dev", viewerDev)
		harness.Run(t, "ip", "-n", top.camdNS, "link", "set", l.camdDev, "up")
		harness.Run(t, "ip", "-n", l.ns, "link", "set", viewerDev, "up")
		harness.Run(t, "ip", "-n", l.ns, "route", "add", "default", "via", l.camd, "dev", viewerDev)
		top.links = append(top.links, l)
	}
	return top
}

// Token bucket settings: the bucket holds 10 ms at the rate (at least
// two full packets), and the queue 150 ms, as a home router's might.
const queueLatency = "150ms"

// shape limits camd → viewer on l to bps.
func (top *topology) shape(t *testing.T, l *link, bps int) {
	t.Helper()
	burst := max(bps/8/100, 3000)
	harness.Run(t, "ip", "netns", "exec", top.camdNS, "tc", "qdisc", "replace", "dev", l.camdDev, "root",
		"tbf", "rate", fmt.Sprint(bps), "burst", fmt.Sprint(burst), "latency", queueLatency)
	l.rate = bps
}

// httpClient reaches camd inside its namespace.
func (top *topology) httpClient() *http.Client {
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{DialContext: nsDialer(top.camdNS), DisableKeepAlives: false},
	}
}

// nsDialer dials from inside the named network namespace: a socket
// belongs to the namespace of the thread that made it, so a goroutine
// locked to its thread enters the namespace, dials, and goes back to the
// thread's own namespace before unlocking. If it cannot go back it stays
// locked and its thread ends with it. (Letting threads end is not free:
// scripts/browser starts Chromium with a parent-death signal, which fires
// when the thread that started it ends, whichever goroutine runs on it
// by then.)
func nsDialer(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread()
			own, err := os.Open("/proc/thread-self/ns/net")
			if err != nil {
				runtime.UnlockOSThread()
				ch <- result{nil, err}
				return
			}
			defer own.Close()
			target, err := os.Open("/var/run/netns/" + ns)
			if err != nil {
				runtime.UnlockOSThread()
				ch <- result{nil, err}
				return
			}
			defer target.Close()
			if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
				runtime.UnlockOSThread()
				ch <- result{nil, fmt.Errorf("setns %s: %w", ns, err)}
				return
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			ch <- result{c, err}
			if unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil {
				runtime.UnlockOSThread()
			}
		}()
		r := <-ch
		return r.c, r.err
	}
}
