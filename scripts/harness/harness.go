// Package harness runs the real camd binary for end-to-end tests and
// benchmarks: it builds it once, starts it on a free loopback port, waits
// until it serves video, and stops it the way a service manager would.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/camd-project/camd/stream/auth"
)

// Build compiles ./cmd/camd into dir and returns the binary's path. root
// is the module root.
func Build(ctx context.Context, root, dir string) (string, error) {
	return BuildTags(ctx, root, dir, "")
}

// BuildTags is Build with build tags (comma-separated), e.g. "camdpprof"
// for the profiling endpoint benchmarks use.
func BuildTags(ctx context.Context, root, dir, tags string) (string, error) {
	bin := filepath.Join(dir, "camd")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", tags, "-o", bin, "./cmd/camd")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/camd: %v\n%s", err, out)
	}
	return bin, nil
}

// ModuleRoot finds the directory holding go.mod, upwards from the caller's
// working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("harness: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Camd is a running camd process.
type Camd struct {
	URL string // http://127.0.0.1:port
	// Token is camd's access token: the one it made in StateDir on first
	// start (auth is on by default), or the one given as auth.token.
	Token string
	// StateDir is camd's state directory (state_dir).
	StateDir string

	// RTSPPort is the RTSP port Start chose (rtsp.port), unless args set
	// another.
	RTSPPort int
	cmd      *exec.Cmd
	logs     *SyncBuffer
	done     chan struct{}
	err      error
	ownState bool // StateDir is a temporary one, removed when camd ends
}

// PageURL is the page's access link: the URL with the token in the
// fragment, as `camd token` prints it.
func (c *Camd) PageURL() string {
	if c.Token == "" {
		return c.URL + "/"
	}
	return c.URL + "/#token=" + c.Token
}

// Request sends an HTTP request to camd with its token, as the page does.
func (c *Camd) Request(ctx context.Context, method, path, contentType string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return http.DefaultClient.Do(req)
}

// Get is Request with GET.
func (c *Camd) Get(ctx context.Context, path string) (*http.Response, error) {
	return c.Request(ctx, http.MethodGet, path, "", nil)
}

// TestToken is the access token that tests which start camd themselves
// (network namespaces, VMs) give it with auth.token, so the viewers they
// start know it. It is public: never use it outside tests.
const TestToken = "camd-test-token-0123456789abcdef"

// Options say how to start camd; see StartWith.
type Options struct {
	// Addr is the listen address; empty picks a free loopback port.
	Addr string
	// StateDir is camd's state directory, where it keeps its token; empty
	// makes a temporary one, removed when camd stops. Give the same one
	// to a camd that restarts where a page expects it, so the page's
	// token stays good.
	StateDir string
	// Args are camd's flags; they come after the harness's own and may
	// override them.
	Args []string
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// FreeUDPPair returns an even loopback UDP port that was free a moment
// ago, with the next one free too: RTP and RTCP (rtsp.udp_port).
func FreeUDPPair() (int, error) {
	for range 100 {
		a, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		a.Close()
		if p%2 != 0 || p >= 65534 {
			continue
		}
		rtp, err := net.ListenPacket("udp", ":"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		rtcp, err := net.ListenPacket("udp", ":"+strconv.Itoa(p+1))
		rtp.Close()
		if err == nil {
			rtcp.Close()
			return p, nil
		}
	}
	return 0, errors.New("harness: no free pair of UDP ports")
}

// Start runs bin with args plus -listen on a free loopback port and waits
// until /healthz says video flows. camd runs with auth on, as by default:
// Camd.Token and Camd.PageURL carry the token it made.
func Start(ctx context.Context, bin string, args ...string) (*Camd, error) {
	return StartWith(ctx, bin, Options{Args: args})
}

// StartAt is Start on a given listen address.
func StartAt(ctx context.Context, bin, addr string, args ...string) (*Camd, error) {
	return StartWith(ctx, bin, Options{Addr: addr, Args: args})
}

// StartWith runs camd as o says and waits until /healthz says video flows.
func StartWith(ctx context.Context, bin string, o Options) (*Camd, error) {
	addr := o.Addr
	if addr == "" {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		addr = "127.0.0.1:" + strconv.Itoa(port)
	}
	c := &Camd{URL: "http://" + addr, StateDir: o.StateDir, done: make(chan struct{})}
	if c.StateDir == "" {
		dir, err := os.MkdirTemp("", "camd-state-")
		if err != nil {
			return nil, err
		}
		c.StateDir, c.ownState = dir, true
	}
	// Tests run on loopback only: no mDNS multicast onto the machine's
	// network, and ephemeral media ports so several camds can run at once:
	// RTSP on a free TCP port, without UDP (FreeUDPPair finds ports for
	// rtsp.udp_port). The state directory is the test's, never the
	// machine's. o.Args come later and may override these.
	rtspPort, err := FreePort()
	if err != nil {
		c.removeState()
		return nil, err
	}
	c.RTSPPort = rtspPort
	base := []string{"-listen", addr, "-set", "mdns.enabled=false", "-set", "webrtc.udp_port=0",
		"-set", "rtsp.port=" + strconv.Itoa(rtspPort), "-set", "rtsp.udp_port=0", "-set", "state_dir=" + c.StateDir}
	args := append(base, o.Args...)
	cmd := exec.Command(bin, args...)
	logs := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	if err := cmd.Start(); err != nil {
		c.removeState()
		return nil, fmt.Errorf("start camd: %w", err)
	}
	c.cmd, c.logs = cmd, logs
	go func() { c.err = cmd.Wait(); c.removeState(); close(c.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(c.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if c.Token = tokenOf(args, os.Getenv("CAMD_AUTH_TOKEN")); c.Token == "" {
					if c.Token, err = auth.Load(c.StateDir); err != nil {
						c.Kill()
						return nil, fmt.Errorf("camd's token: %w\n%s", err, logs.String())
					}
				}
				return c, nil
			}
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("camd exited at start: %v\n%s", c.err, logs.String())
		case <-ctx.Done():
			c.Kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.Kill()
			return nil, fmt.Errorf("camd not healthy after 20 s:\n%s", logs.String())
		}
	}
}

// tokenOf returns the token set with -set auth.token=… (the last one
// wins, as in camd), else env's.
func tokenOf(args []string, env string) string {
	tok := env
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-set" || args[i] == "--set" {
			if v, ok := strings.CutPrefix(args[i+1], "auth.token="); ok {
				tok = v
			}
		}
	}
	return tok
}

func (c *Camd) removeState() {
	if c.ownState {
		_ = os.RemoveAll(c.StateDir)
	}
}

// Logs returns what camd printed so far.
func (c *Camd) Logs() string { return c.logs.String() }

// Pid is the process id, for CPU and memory readings.
func (c *Camd) Pid() int { return c.cmd.Process.Pid }

// Stop sends SIGTERM and waits up to timeout for a clean exit.
func (c *Camd) Stop(timeout time.Duration) error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return c.err
	case <-time.After(timeout):
		c.Kill()
		return fmt.Errorf("camd did not exit within %s of SIGTERM", timeout)
	}
}

// Kill ends camd at once.
func (c *Camd) Kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// ImageStats summarises a screenshot: mean luma (0..255) and the share of
// pixels brighter than near-black.
type ImageStats struct {
	Width, Height int
	MeanLuma      float64
	Lit           float64 // fraction of pixels with luma > 32
}

// PNGStats decodes a PNG and measures it.
func PNGStats(b []byte) (ImageStats, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return ImageStats{}, fmt.Errorf("decode screenshot: %w", err)
	}
	return Measure(img), nil
}

// Measure computes an image's ImageStats.
func Measure(img image.Image) ImageStats {
	r := img.Bounds()
	var sum float64
	lit := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			l := (0.299*float64(cr) + 0.587*float64(cg) + 0.114*float64(cb)) / 257
			sum += l
			if l > 32 {
				lit++
			}
		}
	}
	n := float64(r.Dx() * r.Dy())
	return ImageStats{Width: r.Dx(), Height: r.Dy(), MeanLuma: sum / n, Lit: float64(lit) / n}
}

// ProcStats reads a process's CPU time and peak RSS from /proc (Linux).
type ProcStats struct {
	CPU     time.Duration // user + system
	PeakRSS int64         // bytes (VmHWM)
	RSS     int64         // bytes (VmRSS)
}

// ReadProc reads /proc/<pid>/stat and status.
func ReadProc(pid int) (ProcStats, error) {
	if runtime.GOOS != "linux" {
		return ProcStats{}, errors.New("harness: /proc readings need Linux")
	}
	return readProc(pid)
}
