package nettest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/browser"
	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream"
)

// binaries are camd and netwhep, built once per test binary.
var binaries struct {
	once       sync.Once
	camd, view string
	err        error
}

func build(t *testing.T) (camd, view string) {
	t.Helper()
	binaries.once.Do(func() {
		root, err := harness.ModuleRoot()
		if err != nil {
			binaries.err = err
			return
		}
		dir, err := os.MkdirTemp("", "camd-nettest-bin-")
		if err != nil {
			binaries.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if binaries.camd, binaries.err = harness.Build(ctx, root, dir); binaries.err != nil {
			return
		}
		binaries.view = filepath.Join(dir, "netwhep")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", binaries.view, "./scripts/nettest/cmd/netwhep")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binaries.err = fmt.Errorf("go build ./scripts/nettest/cmd/netwhep: %v\n%s", err, out)
		}
	})
	if binaries.err != nil {
		t.Fatal(binaries.err)
	}
	return binaries.camd, binaries.view
}

// process is a command in a namespace, killed when the test ends.
type process struct {
	name string
	cmd  *exec.Cmd
	logs *harness.SyncBuffer
	done chan struct{}
}

// startIn starts argv in ns; lines of stdout go to onLine (if set), the
// rest of the output to the process's log.
func startIn(t *testing.T, ns, name string, onLine func([]byte), argv ...string) *process {
	t.Helper()
	p := &process{name: name, logs: &harness.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	p.cmd.Env = testEnv()
	p.cmd.Stderr = p.logs
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if onLine != nil {
				onLine(sc.Bytes())
			} else {
				_, _ = p.logs.Write(append(sc.Bytes(), '\n'))
			}
		}
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.stop(5 * time.Second)
		if t.Failed() {
			t.Logf("%s output (last 8 KiB):\n%s", name, tail(p.logs.String(), 8<<10))
		}
	})
	return p
}

// testEnv is the environment without CAMD_ variables: camd takes those as
// configuration and refuses unknown ones (CAMD_NETTEST_OUT, CAMD_CHROMIUM),
// and the test configures camd with flags only.
func testEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAMD_") {
			env = append(env, kv)
		}
	}
	return env
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// stop sends SIGTERM, then SIGKILL after timeout.
func (p *process) stop(timeout time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// camdArgs are the flags every test runs camd with: the test pattern at
// 720p with film grain, so that the encoder can fill 8 Mbit/s and must cut
// quality to fit 1.
func camdArgs(extra ...string) []string {
	return append([]string{
		"-listen", "0.0.0.0:8080", "-name", "nettest", "-log-level", "debug",
		"-set", "mdns.enabled=false", "-source", "pattern", "-size", "1280x720", "-fps", "30",
		"-set", "auth.token=" + harness.TestToken,
		"-set", "source.grain=8", "-set", "encoder.bitrate=2Mbps", "-set", "encoder.max_bitrate=8Mbps",
	}, extra...)
}

// startCamd runs camd in the camd namespace and waits until it serves.
func startCamd(t *testing.T, top *topology, bin string, extra ...string) *process {
	t.Helper()
	p := startIn(t, top.camdNS, "camd", nil, append([]string{bin}, camdArgs(extra...)...)...)
	hc := top.httpClient()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := hc.Get("http://" + top.links[0].camd + ":8080/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("camd exited at start:\n%s", p.logs)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("camd not healthy after 20 s:\n%s", p.logs)
		}
	}
}

// status reads camd's /api/status.
func (top *topology) status(ctx context.Context, hc *http.Client) (stream.Status, error) {
	var st stream.Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+top.links[0].camd+":8080/api/status", nil)
	if err != nil {
		return st, err
	}
	req.Header.Set("Authorization", "Bearer "+harness.TestToken)
	resp, err := hc.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// goSample is one line from netwhep.
type goSample struct {
	Event     string `json:"event"`
	UnixMs    int64  `json:"unix_ms"`
	Units     int    `json:"units"`
	Bytes     uint64 `json:"bytes"`
	Packets   uint64 `json:"packets"`
	Lost      uint64 `json:"lost"`
	Recovered uint64 `json:"recovered"`
	Padding   uint64 `json:"padding"`
	Err       string `json:"err"`
}

// goViewer is netwhep in a link's namespace.
type goViewer struct {
	*process
	mu   sync.Mutex
	last goSample
}

func startGoViewer(t *testing.T, l *link, bin string) *goViewer {
	t.Helper()
	v := &goViewer{}
	v.process = startIn(t, l.ns, "go viewer", func(b []byte) {
		var s goSample
		if json.Unmarshal(b, &s) != nil {
			return
		}
		if s.Event == "error" {
			t.Errorf("go viewer: %s", s.Err)
			return
		}
		v.mu.Lock()
		v.last = s
		v.mu.Unlock()
	}, bin, "-url", "http://"+l.camd+":8080/whep", "-token", harness.TestToken, "-every", "100ms")
	return v
}

func (v *goViewer) sample() goSample {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.last
}

// chromeStats is what the test reads from Chromium: its receiver's
// statistics and how many sessions the page started again.
type chromeStats struct {
	browser.InboundVideo
	Reconnects float64
}

// chromeViewer is camd's page in headless Chromium in a link's namespace.
type chromeViewer struct {
	b *browser.Browser
	p *browser.Page
}

func startChrome(ctx context.Context, t *testing.T, l *link) *chromeViewer {
	t.Helper()
	chromium, err := browser.Find()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	wrapper := filepath.Join(t.TempDir(), "chromium-in-netns")
	script := "#!/bin/sh\nexec ip netns exec " + l.ns + " " + chromium + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := browser.Launch(ctx, browser.Options{Path: wrapper})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	p, err := b.NewPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, "http://"+l.camd+":8080/#token="+harness.TestToken); err != nil {
		t.Fatal(err)
	}
	return &chromeViewer{b: b, p: p}
}

func (c *chromeViewer) stats(ctx context.Context) (chromeStats, error) {
	var s chromeStats
	var err error
	if s.InboundVideo, err = c.p.InboundVideo(ctx, "camd.pc"); err != nil {
		return s, err
	}
	err = c.p.Eval(ctx, "camd.stats.reconnects", &s.Reconnects)
	return s, err
}

// waitPlaying waits until both viewers decode video.
func waitPlaying(ctx context.Context, t *testing.T, c *chromeViewer, g *goViewer) {
	t.Helper()
	if err := c.p.WaitFor(ctx, `window.camd && camd.state === "live" && camd.stats.framesDecoded > 30`, 100*time.Millisecond); err != nil {
		t.Fatalf("Chromium never played: %v %q", err, c.p.Console())
	}
	for g.sample().Units < 30 {
		select {
		case <-ctx.Done():
			t.Fatalf("the Go viewer got no video: %+v", g.sample())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// remoteIs reports whether a viewer's HTTP address is on link l.
func remoteIs(remote string, l *link) bool { return strings.HasPrefix(remote, l.addr+":") }
