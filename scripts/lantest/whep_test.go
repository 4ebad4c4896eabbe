package lantest

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
)

// viewerSummary is lanwhep's last line.
type viewerSummary struct {
	Event         string   `json:"event"`
	Units         int      `json:"units"`
	UnitsAfter    int      `json:"units_after_restart"`
	FirstKeyframe bool     `json:"first_keyframe"`
	Restarts      int      `json:"restarts"`
	RestartErrors int      `json:"restart_errors"`
	OfferHosts    []string `json:"offer_hosts"`
	FirstUnitMs   float64  `json:"first_unit_ms"`
	Err           string   `json:"err"`
}

// viewer is lanwhep running in a namespace.
type viewer struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
	sum   viewerSummary
	log   *harness.SyncBuffer
}

func startViewer(t *testing.T, ns, bin string, args ...string) *viewer {
	t.Helper()
	v := &viewer{lines: make(chan string, 256), done: make(chan struct{}), log: &harness.SyncBuffer{}}
	v.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, bin, "-token", harness.TestToken}, args...)...)
	v.cmd.Stderr = v.log
	out, err := v.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(v.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			_, _ = v.log.Write([]byte(line + "\n"))
			var s viewerSummary
			if json.Unmarshal([]byte(line), &s) == nil && s.Event == "summary" {
				v.sum = s
			}
			select {
			case v.lines <- line:
			default:
			}
		}
		_ = v.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = v.cmd.Process.Kill()
		<-v.done
		if t.Failed() {
			t.Logf("viewer output:\n%s", v.log)
		}
	})
	return v
}

// await waits for an output line containing s.
func (v *viewer) await(t *testing.T, s string, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case l := <-v.lines:
			if strings.Contains(l, s) {
				return
			}
		case <-v.done:
			t.Fatalf("viewer exited before printing %q", s)
		case <-timeout:
			t.Fatalf("viewer did not print %q within %v", s, d)
		}
	}
}

func (v *viewer) finish(t *testing.T, d time.Duration) viewerSummary {
	t.Helper()
	select {
	case <-v.done:
	case <-time.After(d):
		t.Fatalf("viewer did not finish within %v", d)
	}
	if v.sum.Event != "summary" {
		t.Fatal("viewer printed no summary")
	}
	return v.sum
}

func buildCamdAndViewer(t *testing.T) (camd, viewer string) {
	t.Helper()
	dir := t.TempDir()
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if camd, err = harness.Build(ctx, root, dir); err != nil {
		t.Fatal(err)
	}
	viewer = filepath.Join(dir, "lanwhep")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", viewer, "./cmd/lanwhep").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/lanwhep: %v\n%s", err, out)
	}
	return camd, viewer
}

// TestWHEPOnTheLAN: camd in one namespace (its mDNS responder and the
// shared UDP media port on), viewers in the other. A viewer that, like a
// browser, hides its address behind a .local name connects and gets video;
// a viewer whose address changes mid-stream keeps its session through an
// ICE restart.
func TestWHEPOnTheLAN(t *testing.T) {
	harness.NeedRoot(t)
	needTools(t)
	l := newLAN(t)
	camdBin, viewerBin := buildCamdAndViewer(t)

	camd := start(t, l.nsA, "camd", camdBin, "-listen", addrA+":8080", "-name", "lancam", "-set", "auth.token="+harness.TestToken,
		"-source", "pattern", "-size", "320x240", "-fps", "30", "-set", "webrtc.udp_port=8189")
	camd.waitStderr(t, "camd is running", 20*time.Second)
	url := "http://" + addrA + ":8080/whep"

	t.Run("mdns-candidates", func(t *testing.T) {
		v := startViewer(t, l.nsB, viewerBin, "-url", url, "-mdns-candidates", "-duration", "3s")
		s := v.finish(t, 30*time.Second)
		for _, h := range s.OfferHosts {
			if !strings.HasSuffix(h, ".local") {
				t.Fatalf("offer carried %q; want only .local names (%v)", h, s.OfferHosts)
			}
		}
		if len(s.OfferHosts) == 0 || s.Units < 60 || !s.FirstKeyframe {
			t.Fatalf("viewer with .local candidates %v: %d units, first keyframe %v; want ~90 starting on a keyframe", s.OfferHosts, s.Units, s.FirstKeyframe)
		}
		if !strings.Contains(camd.stderr.String(), "viewer connected") {
			t.Fatal("camd logged no connected viewer")
		}
		// All media on the one configured port.
		if !strings.Contains(harness.Run(t, "ip", "netns", "exec", l.nsA, "ss", "-uanp"), ":8189") {
			t.Fatal("camd is not listening on UDP 8189")
		}
		t.Logf("viewer offered %v, got %d units, first after %.0f ms", s.OfferHosts, s.Units, s.FirstUnitMs)
	})

	// An ICE-lite viewer sends no checks of its own: camd connects only if
	// it resolves the viewer's .local name and checks the address itself.
	t.Run("mdns-candidates-lite", func(t *testing.T) {
		v := startViewer(t, l.nsB, viewerBin, "-url", url, "-mdns-candidates", "-lite", "-duration", "3s")
		s := v.finish(t, 30*time.Second)
		if len(s.OfferHosts) == 0 || !strings.HasSuffix(s.OfferHosts[0], ".local") || s.Units < 60 || !s.FirstKeyframe {
			t.Fatalf("ICE-lite viewer with .local candidates %v: %d units, first keyframe %v (%s); want ~90 starting on a keyframe", s.OfferHosts, s.Units, s.FirstKeyframe, s.Err)
		}
		t.Logf("ICE-lite viewer offered %v, got %d units, first after %.0f ms", s.OfferHosts, s.Units, s.FirstUnitMs)
	})

	t.Run("address-change", func(t *testing.T) {
		v := startViewer(t, l.nsB, viewerBin, "-url", url, "-duration", "14s")
		v.await(t, `"first_unit"`, 15*time.Second)
		time.Sleep(time.Second)
		// The viewer moves: new address, old one gone (a phone changing
		// networks). The ICE pair it used is dead now.
		harness.Run(t, "ip", "-n", l.nsB, "addr", "del", addrB+"/24", "dev", l.vethB)
		harness.Run(t, "ip", "-n", l.nsB, "addr", "add", "10.99.0.3/24", "dev", l.vethB)
		changed := time.Now()
		v.await(t, `"ice_restart"`, 10*time.Second)
		s := v.finish(t, 30*time.Second)
		if s.Restarts < 1 || s.UnitsAfter < 60 {
			t.Fatalf("after the address change: %d ICE restarts (%d failed), %d units; want a restart and video flowing on", s.Restarts, s.RestartErrors, s.UnitsAfter)
		}
		if n := strings.Count(camd.stderr.String(), "ICE restart"); n < 1 {
			t.Fatal("camd logged no ICE restart")
		}
		t.Logf("address changed; %d ICE restart(s), %d units after it; summary at %s", s.Restarts, s.UnitsAfter, time.Since(changed).Round(time.Second))
	})
	camd.stop(t)
}
