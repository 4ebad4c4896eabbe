package lantest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/camd-project/camd/scripts/harness"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/camd-project/camd/stream/mdns"
)

// needTools installs the Debian packages that provide the commands, if
// any are missing, and skips (fails in CI) when that does not work.
func needTools(t *testing.T) {
	t.Helper()
	pkgs := map[string]string{"ip": "iproute2", "dig": "bind9-dnsutils", "tcpdump": "tcpdump"}
	missing := func() []string {
		var m []string
		for bin, pkg := range pkgs {
			if _, err := exec.LookPath(bin); err != nil {
				m = append(m, pkg)
			}
		}
		return m
	}
	m := missing()
	if len(m) == 0 {
		return
	}
	if _, err := exec.LookPath("apt-get"); err == nil {
		install := func() error {
			cmd := exec.Command("apt-get", append([]string{"install", "-y", "-qq", "--no-install-recommends"}, m...)...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			out, err := cmd.CombinedOutput()
			if err != nil {
				return fmt.Errorf("apt-get install %v: %w\n%s", m, err, out)
			}
			return nil
		}
		t.Logf("installing %v", m)
		if err := install(); err != nil {
			_ = exec.Command("apt-get", "update", "-qq").Run()
			if err := install(); err != nil {
				t.Log(err)
			}
		}
	}
	if m := missing(); len(m) > 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs the Debian packages %v", m)
		}
		t.Skipf("needs the Debian packages %v", m)
	}
}

// lan is two namespaces joined by a veth pair.
type lan struct {
	nsA, nsB, vethA, vethB string
}

const addrA, addrB = "10.99.0.1", "10.99.0.2"

// newLAN creates the namespaces; they are deleted when the test ends,
// pass or fail.
func newLAN(t *testing.T) lan {
	t.Helper()
	id := os.Getpid() % 100000
	l := lan{
		nsA: fmt.Sprintf("camdlan%d-a", id), nsB: fmt.Sprintf("camdlan%d-b", id),
		vethA: fmt.Sprintf("cl%da", id), vethB: fmt.Sprintf("cl%db", id),
	}
	for _, ns := range []string{l.nsA, l.nsB} {
		harness.Run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() {
			if out, err := harness.RunErr("ip", "netns", "del", ns); err != nil {
				t.Errorf("deleting namespace %s: %v %s", ns, err, out)
			}
		})
	}
	harness.Run(t, "ip", "link", "add", l.vethA, "netns", l.nsA, "type", "veth", "peer", "name", l.vethB, "netns", l.nsB)
	for _, side := range []struct{ ns, dev, addr string }{{l.nsA, l.vethA, addrA}, {l.nsB, l.vethB, addrB}} {
		harness.Run(t, "ip", "-n", side.ns, "addr", "add", side.addr+"/24", "dev", side.dev)
		harness.Run(t, "ip", "-n", side.ns, "link", "set", "lo", "up")
		harness.Run(t, "ip", "-n", side.ns, "link", "set", side.dev, "up", "multicast", "on")
		harness.Run(t, "ip", "-n", side.ns, "route", "add", "224.0.0.0/4", "dev", side.dev)
	}
	// Wait for duplicate address detection on the link-local IPv6
	// addresses, so the responders start with usable ones.
	deadline := time.Now().Add(5 * time.Second)
	for _, side := range [][2]string{{l.nsA, l.vethA}, {l.nsB, l.vethB}} {
		for {
			out := harness.Run(t, "ip", "-n", side[0], "-6", "addr", "show", "dev", side[1], "tentative")
			if strings.TrimSpace(out) == "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return l
}

// buildResponder compiles cmd/lanmdns.
func buildResponder(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lanmdns")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/lanmdns")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/lanmdns: %v\n%s", err, out)
	}
	return bin
}

// proc is a process in a namespace, stopped at the end of the test.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stderr *harness.SyncBuffer
	done   chan struct{}

	mu      sync.Mutex
	claimed *event      // the "claimed" event, once it came
	peers   []mdns.Peer // from the latest "peers" event
}

// event is one JSON line from lanmdns.
type event struct {
	Event    string      `json:"event"`
	Name     string      `json:"name"`
	Instance string      `json:"instance"`
	Peers    []mdns.Peer `json:"peers"`
}

func start(t *testing.T, ns, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, stderr: &harness.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e event
			if json.Unmarshal(sc.Bytes(), &e) != nil {
				continue
			}
			p.mu.Lock()
			switch e.Event {
			case "claimed":
				p.claimed = &e
			case "peers":
				p.peers = e.Peers
			}
			p.mu.Unlock()
		}
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, p.stderr)
		}
	})
	return p
}

func (p *proc) signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(sig)
	}
}

// stop sends SIGTERM and waits for the process to exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not exit within 10 s of SIGTERM", p.name)
	}
}

// wait polls cond until it holds.
func (p *proc) wait(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		p.mu.Lock()
		ok := cond()
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited while waiting for %s", p.name, what)
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("%s: no %s within %v", p.name, what, d)
		}
	}
}

// awaitClaim returns the claimed event.
func (p *proc) awaitClaim(t *testing.T, d time.Duration) event {
	t.Helper()
	p.wait(t, "claim", d, func() bool { return p.claimed != nil })
	return *p.claimed
}

// awaitPeers waits until the latest peer list satisfies ok.
func (p *proc) awaitPeers(t *testing.T, what string, d time.Duration, ok func([]mdns.Peer) bool) {
	t.Helper()
	p.wait(t, what, d, func() bool { return ok(p.peers) })
}

// waitStderr waits until the process wrote s to stderr.
func (p *proc) waitStderr(t *testing.T, s string, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); !strings.Contains(p.stderr.String(), s); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s did not print %q within %v; stderr:\n%s", p.name, s, d, p.stderr)
		}
	}
}
