// Package harness runs the real camd binary for end-to-end tests and
// benchmarks: it builds it once, starts it on a free loopback port, waits
// until it serves video, and stops it the way a service manager would.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
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
	URL  string // http://127.0.0.1:port
	cmd  *exec.Cmd
	logs *SyncBuffer
	done chan struct{}
	err  error
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

// Start runs bin with args plus -listen on a free loopback port and waits
// until /healthz says video flows.
func Start(ctx context.Context, bin string, args ...string) (*Camd, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	return StartAt(ctx, bin, "127.0.0.1:"+strconv.Itoa(port), args...)
}

// StartAt is Start on a given listen address (to restart camd where a page
// expects it).
func StartAt(ctx context.Context, bin, addr string, args ...string) (*Camd, error) {
	// Tests run on loopback only: no mDNS multicast onto the machine's
	// network, and ephemeral media ports so several camds can run at once.
	// args come later and may override these.
	base := []string{"-listen", addr, "-set", "mdns.enabled=false", "-set", "webrtc.udp_port=0"}
	cmd := exec.Command(bin, append(base, args...)...)
	logs := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start camd: %w", err)
	}
	c := &Camd{URL: "http://" + addr, cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(c.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
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
	return ImageStats{Width: r.Dx(), Height: r.Dy(), MeanLuma: sum / n, Lit: float64(lit) / n}, nil
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
