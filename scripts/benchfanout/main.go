// Command benchfanout measures what each viewer costs camd: for N = 1, 10,
// 25, … synthetic WHEP viewers (cmd/camd-load, each a full pion peer with
// TWCC, NACK and PLI) of a 1280x720 test pattern at a fixed 2 Mbit/s, it
// reads camd's CPU time and RSS from /proc and reports CPU-seconds per
// viewer-minute (above what camd spends with no viewer, which is mostly
// the encoder), RSS per viewer, RSS after the viewers left and a settle
// time, frames and loss per viewer, and the time from the WHEP exchange to
// the first keyframe. A fresh camd serves each N. It prints a table and
// writes it as CSV and Markdown. It asserts nothing; the goals are read by
// people: ≤ 0.10 CPU-s per viewer-minute, ≤ 0.5 MiB per viewer, back to
// idle + 10 MiB after the viewers left, first keyframe ≤ 100 ms.
//
//	go run ./scripts/benchfanout [-n 1,10,25,50,100,200,300] [-window 60s] [-settle 2m] [-out dir] [-profile 100]
//
// The load generator runs on the same machine and competes with camd for
// it; camd's own CPU time is what is counted.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/camd-project/camd/scripts/harness"
)

type config struct {
	steps          []int
	size, bitrate  string
	fps, grain     int
	window, settle time.Duration
	warm, ramp     time.Duration
	out            string
	profile        int
	source         string // "pattern" or "file"
	clip           string // the H.264 file for source "file"
}

func main() {
	var c config
	steps := flag.String("n", "1,10,25,50,100,200,300", "viewer counts, comma-separated")
	flag.StringVar(&c.size, "size", "1280x720", "frame size")
	flag.StringVar(&c.bitrate, "bitrate", "2Mbps", "fixed encoder bitrate (adaptation off)")
	flag.IntVar(&c.fps, "fps", 30, "frame rate")
	flag.IntVar(&c.grain, "grain", 8, "test pattern grain, so the encoder spends its bitrate as on a camera picture")
	flag.DurationVar(&c.window, "window", 60*time.Second, "measuring window with all viewers connected")
	flag.DurationVar(&c.settle, "settle", 2*time.Minute, "wait after the viewers left before reading RSS again")
	flag.DurationVar(&c.warm, "warm", 10*time.Second, "idle time before the viewers come (idle CPU and RSS are read over it)")
	flag.DurationVar(&c.ramp, "ramp", 20*time.Millisecond, "pause between two viewers' starts")
	flag.StringVar(&c.out, "out", "dist/bench-fanout", "directory for fanout.csv and fanout.md")
	flag.IntVar(&c.profile, "profile", 0, "at this N, take a CPU and heap profile of camd (a -tags camdpprof build) into -out")
	flag.StringVar(&c.source, "source", "pattern", "pattern (encoded live: camd's whole cost, forced keyframes) or file "+
		"(a clip made with ffmpeg, passed through: the fan-out alone, as a relay like mediamtx does; new viewers wait for the clip's keyframes)")
	flag.Parse()
	for _, f := range strings.Split(*steps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "benchfanout: bad -n entry %q\n", f)
			os.Exit(2)
		}
		c.steps = append(c.steps, n)
	}
	if err := bench(c); err != nil {
		fmt.Fprintln(os.Stderr, "benchfanout:", err)
		os.Exit(1)
	}
}

// row is one N's results.
type row struct {
	N, Connected, Failed       int
	IdleCPUPerMin              float64 // camd with no viewer, CPU-s per minute
	LoadCPUPerMin              float64 // with N viewers
	CPUPerViewerMin            float64 // (load − idle) / N
	IdleRSS, LoadRSS, AfterRSS float64 // MiB
	RSSPerViewer               float64 // (load − idle) / N, MiB
	FramesP50, FramesMin       float64 // per viewer, over the whole watch
	FPSP50, KbpsP50            float64
	LossP50, LossMax           float64 // percent
	IDRP50, IDRP95, IDRMax     float64 // ms from the WHEP exchange to the first keyframe
	IDRWaitP50, IDRWaitP95     float64 // of which after ICE and DTLS were up
	Forced, JoinedCached       uint64  // keyframes forced for new viewers, joins on the cached one
	LoadGenCPUPerMin           float64 // camd-load's own CPU, per minute
	SourceFPS                  float64 // access units a second from the encoder during the window
	Dropped                    uint64  // access units dropped for viewers that fell behind
	LoadAvg                    string
}

func bench(c config) error {
	if runtime.GOOS != "linux" {
		return errors.New("reads /proc: Linux only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Hour)
	defer cancel()
	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "camd-fanout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tags := ""
	if c.profile > 0 {
		tags = "camdpprof"
	}
	bin, err := harness.BuildTags(ctx, root, dir, tags)
	if err != nil {
		return err
	}
	load := filepath.Join(dir, "camd-load")
	build := exec.CommandContext(ctx, "go", "build", "-o", load, "./cmd/camd-load")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/camd-load: %v\n%s", err, out)
	}
	switch c.source {
	case "pattern":
	case "file":
		if c.clip, err = makeClip(ctx, dir, c); err != nil {
			return err
		}
	default:
		return fmt.Errorf("-source %q: want pattern or file", c.source)
	}
	if !filepath.IsAbs(c.out) {
		c.out = filepath.Join(root, c.out)
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	fmt.Printf("camd fan-out: %s %s at %d fps, %s fixed, grain %d; window %s, settle %s, %d CPUs\n\n",
		c.source, c.size, c.fps, c.bitrate, c.grain, c.window, c.settle, runtime.NumCPU())
	var rows []row
	for _, n := range c.steps {
		r, err := step(ctx, c, bin, load, n)
		if err != nil {
			return fmt.Errorf("N=%d: %w", n, err)
		}
		rows = append(rows, r)
		printRow(os.Stdout, r, len(rows) == 1)
	}
	return write(c.out, rows)
}

func step(ctx context.Context, c config, bin, load string, n int) (row, error) {
	r := row{N: n}
	udp, err := harness.FreePort()
	if err != nil {
		return r, err
	}
	pprofAddr := ""
	if c.profile == n {
		port, err := harness.FreePort()
		if err != nil {
			return r, err
		}
		pprofAddr = "127.0.0.1:" + strconv.Itoa(port)
		os.Setenv("CAMD_TEST_PPROF", pprofAddr)
		defer os.Unsetenv("CAMD_TEST_PPROF")
	}
	args := []string{"-source", "pattern", "-size", c.size, "-fps", strconv.Itoa(c.fps),
		"-bitrate", c.bitrate, "-set", "encoder.adaptive=false", "-set", "source.grain=" + strconv.Itoa(c.grain)}
	if c.source == "file" {
		args = []string{"-source", "file", "-file", c.clip}
	}
	cd, err := harness.Start(ctx, bin, append(args,
		"-set", "webrtc.max_viewers=1024", "-set", "webrtc.udp_port="+strconv.Itoa(udp), "-log-level", "warn")...)
	if err != nil {
		return r, err
	}
	defer cd.Stop(10 * time.Second)

	// Idle: the encoder alone.
	p0, err := harness.ReadProc(cd.Pid())
	if err != nil {
		return r, err
	}
	time.Sleep(c.warm)
	p1, err := harness.ReadProc(cd.Pid())
	if err != nil {
		return r, err
	}
	r.IdleCPUPerMin = perMin(p1.CPU-p0.CPU, c.warm)
	r.IdleRSS = mib(p1.RSS)
	before := status(cd)

	// The viewers: each watches long enough for all to be there through
	// the window.
	watch := c.window + time.Duration(n)*c.ramp + 20*time.Second
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	cmd := exec.CommandContext(lctx, load, "-url", cd.URL+"/whep", "-n", strconv.Itoa(n), "-ramp", c.ramp.String(),
		"-duration", watch.String(), "-loopback", "-json", "-token", cd.Token)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return r, err
	}
	loadDone := make(chan error, 1)
	go func() { loadDone <- cmd.Wait() }()
	deadline := time.Now().Add(time.Duration(n)*c.ramp + 60*time.Second)
	for status(cd).connected < n {
		if time.Now().After(deadline) {
			return r, fmt.Errorf("only %d of %d viewers connected\n%s", status(cd).connected, n, stderr.String())
		}
		select {
		case err := <-loadDone:
			return r, fmt.Errorf("camd-load ended early: %v\n%s%s", err, stdout.String(), stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	time.Sleep(3 * time.Second) // first keyframes out, estimates settled
	l0, _ := harness.ReadProc(cmd.Process.Pid)
	s0 := status(cd)
	q0, err := harness.ReadProc(cd.Pid())
	if err != nil {
		return r, err
	}
	var profDone chan error
	if pprofAddr != "" {
		profDone = make(chan error, 1)
		go func() { profDone <- profile(pprofAddr, c.out, n, min(c.window, 30*time.Second)) }()
	}
	time.Sleep(c.window)
	q1, err := harness.ReadProc(cd.Pid())
	if err != nil {
		return r, err
	}
	l1, _ := harness.ReadProc(cmd.Process.Pid)
	s1 := status(cd)
	r.SourceFPS = float64(s1.units-s0.units) / c.window.Seconds()
	r.Dropped = s1.dropped
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.LoadAvg = strings.Join(strings.Fields(string(la))[:3], " ")
	}
	if profDone != nil {
		if err := <-profDone; err != nil {
			return r, err
		}
	}
	r.LoadCPUPerMin = perMin(q1.CPU-q0.CPU, c.window)
	r.CPUPerViewerMin = (r.LoadCPUPerMin - r.IdleCPUPerMin) / float64(n)
	r.LoadRSS = mib(q1.RSS)
	r.RSSPerViewer = (r.LoadRSS - r.IdleRSS) / float64(n)
	r.LoadGenCPUPerMin = perMin(l1.CPU-l0.CPU, c.window)

	if err := <-loadDone; err != nil && stdout.Len() == 0 {
		return r, fmt.Errorf("camd-load: %v\n%s", err, stderr.String())
	}
	after := status(cd)
	r.Forced = after.forcedNew - before.forcedNew
	r.JoinedCached = after.joinedCached - before.joinedCached
	if err := viewers(&r, stdout.Bytes()); err != nil {
		return r, err
	}
	// The viewers are gone (camd-load deleted its sessions): wait, then
	// see what camd gave back.
	time.Sleep(c.settle)
	if v := status(cd).connected; v != 0 {
		return r, fmt.Errorf("%d viewers still there after the settle time", v)
	}
	q2, err := harness.ReadProc(cd.Pid())
	if err != nil {
		return r, err
	}
	r.AfterRSS = mib(q2.RSS)
	return r, nil
}

// viewers reads camd-load's JSON lines.
func viewers(r *row, out []byte) error {
	var frames, fps, kbps, loss, idr, wait []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var v struct {
			Err        string  `json:"err"`
			FirstIDRMs float64 `json:"first_idr_ms"`
			ConnectMs  float64 `json:"connect_ms"`
			Frames     int     `json:"frames"`
			FPS        float64 `json:"fps"`
			Kbps       float64 `json:"kbps"`
			LossPct    float64 `json:"loss_pct"`
		}
		if err := json.Unmarshal(line, &v); err != nil {
			return fmt.Errorf("camd-load output %q: %w", line, err)
		}
		if v.Err != "" {
			r.Failed++
			continue
		}
		r.Connected++
		frames = append(frames, float64(v.Frames))
		fps = append(fps, v.FPS)
		kbps = append(kbps, v.Kbps)
		loss = append(loss, v.LossPct)
		idr = append(idr, v.FirstIDRMs)
		wait = append(wait, v.FirstIDRMs-v.ConnectMs)
	}
	if r.Connected == 0 {
		return fmt.Errorf("no viewer got video:\n%s", out)
	}
	r.FramesP50, r.FramesMin = pct(frames, 50), pct(frames, 0)
	r.FPSP50, r.KbpsP50 = pct(fps, 50), pct(kbps, 50)
	r.LossP50, r.LossMax = pct(loss, 50), pct(loss, 100)
	r.IDRP50, r.IDRP95, r.IDRMax = pct(idr, 50), pct(idr, 95), pct(idr, 100)
	r.IDRWaitP50, r.IDRWaitP95 = pct(wait, 50), pct(wait, 95)
	return nil
}

type camdStatus struct {
	connected               int
	forcedNew, joinedCached uint64
	units, dropped          uint64 // access units from the encoder; dropped by viewers that fell behind
}

// status reads the connected viewers and the keyframe counters.
func status(cd *harness.Camd) camdStatus {
	var st struct {
		Sessions []struct {
			State   string `json:"state"`
			Dropped uint64 `json:"dropped"`
		} `json:"sessions"`
		Stream struct {
			Units        uint64            `json:"access_units"`
			ForcedBy     map[string]uint64 `json:"keyframes_forced_by"`
			JoinedCached uint64            `json:"joined_cached"`
		} `json:"stream"`
	}
	resp, err := cd.Get(context.Background(), "/api/status")
	if err != nil {
		return camdStatus{}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return camdStatus{}
	}
	out := camdStatus{forcedNew: st.Stream.ForcedBy["new_viewer"], joinedCached: st.Stream.JoinedCached, units: st.Stream.Units}
	for _, s := range st.Sessions {
		out.dropped += s.Dropped
		if s.State == "connected" {
			out.connected++
		}
	}
	return out
}

// profile saves a CPU profile over d, a heap profile and the goroutines'
// stacks, and says where they are.
func profile(addr, dir string, n int, d time.Duration) error {
	cpu := filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", n))
	heap := filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", n))
	get := func(path, file string) error {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		defer resp.Body.Close()
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(f, resp.Body)
		return err
	}
	if err := get(fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds())), cpu); err != nil {
		return err
	}
	if err := get("/debug/pprof/heap", heap); err != nil {
		return err
	}
	// Goroutine stacks are memory the heap profile does not show.
	gor := filepath.Join(dir, fmt.Sprintf("goroutine-%d.txt", n))
	if err := get("/debug/pprof/goroutine?debug=1", gor); err != nil {
		return err
	}
	fmt.Printf("profiles at N=%d: %s, %s, %s (go tool pprof -top %s)\n", n, cpu, heap, gor, cpu)
	return nil
}

func perMin(cpu, over time.Duration) float64 { return cpu.Seconds() / over.Minutes() }
func mib(b int64) float64                    { return float64(b) / (1 << 20) }

// pct is the p-th percentile (nearest rank) of xs.
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[int(p/100*float64(len(s)-1))]
}

var header = []string{"N", "connected", "cpu_idle_s_per_min", "cpu_load_s_per_min", "cpu_s_per_viewer_min",
	"rss_idle_mib", "rss_load_mib", "rss_per_viewer_mib", "rss_after_mib", "rss_after_minus_idle_mib",
	"frames_p50", "frames_min", "fps_p50", "kbps_p50", "loss_p50_pct", "loss_max_pct",
	"first_idr_p50_ms", "first_idr_p95_ms", "first_idr_max_ms", "idr_after_connect_p50_ms", "idr_after_connect_p95_ms",
	"forced_for_new", "joined_cached",
	"source_fps", "dropped_units", "loadgen_cpu_s_per_min", "loadavg"}

func (r row) fields() []string {
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	return []string{strconv.Itoa(r.N), fmt.Sprintf("%d/%d", r.Connected, r.Connected+r.Failed),
		f(r.IdleCPUPerMin, 2), f(r.LoadCPUPerMin, 2), f(r.CPUPerViewerMin, 3),
		f(r.IdleRSS, 1), f(r.LoadRSS, 1), f(r.RSSPerViewer, 2), f(r.AfterRSS, 1), f(r.AfterRSS-r.IdleRSS, 1),
		f(r.FramesP50, 0), f(r.FramesMin, 0), f(r.FPSP50, 1), f(r.KbpsP50, 0), f(r.LossP50, 2), f(r.LossMax, 2),
		f(r.IDRP50, 0), f(r.IDRP95, 0), f(r.IDRMax, 0), f(r.IDRWaitP50, 0), f(r.IDRWaitP95, 0), strconv.FormatUint(r.Forced, 10), strconv.FormatUint(r.JoinedCached, 10),
		f(r.SourceFPS, 1), strconv.FormatUint(r.Dropped, 10), f(r.LoadGenCPUPerMin, 1), r.LoadAvg}
}

func printRow(w io.Writer, r row, first bool) {
	if first {
		fmt.Fprintf(w, "%5s %9s %8s %8s %9s %7s %7s %8s %7s %7s %6s %6s %5s %6s %6s %6s %5s %5s %5s %5s %5s %5s %5s %6s %5s %8s  %s\n",
			"N", "conn", "cpuIdle", "cpuLoad", "cpu/v·m", "rssIdl", "rssLd", "rss/v", "rssAft", "aft-idl",
			"frm50", "frmMin", "fps", "kbps", "loss50", "lossMx", "idr50", "idr95", "idrMx", "wt50", "wt95", "forc", "cache", "srcfps", "drop", "loadgen", "loadavg")
	}
	f := make([]any, 0, len(header))
	for _, s := range r.fields() {
		f = append(f, s)
	}
	fmt.Fprintf(w, "%5s %9s %8s %8s %9s %7s %7s %8s %7s %7s %6s %6s %5s %6s %6s %6s %5s %5s %5s %5s %5s %5s %5s %6s %5s %8s  %s\n", f...)
}

func write(dir string, rows []row) error {
	var csv, md strings.Builder
	csv.WriteString(strings.Join(header, ",") + "\n")
	md.WriteString("| " + strings.Join(header, " | ") + " |\n|" + strings.Repeat(" --- |", len(header)) + "\n")
	for _, r := range rows {
		csv.WriteString(strings.Join(r.fields(), ",") + "\n")
		md.WriteString("| " + strings.Join(r.fields(), " | ") + " |\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "fanout.csv"), []byte(csv.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "fanout.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s and %s\n", filepath.Join(dir, "fanout.csv"), filepath.Join(dir, "fanout.md"))
	return nil
}

// makeClip encodes 30 s of ffmpeg's test source, with noise so that it
// takes its bitrate, as constrained-baseline H.264 Annex-B with a keyframe
// every second.
func makeClip(ctx context.Context, dir string, c config) (string, error) {
	clip := filepath.Join(dir, "clip.h264")
	cmd := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-f", "lavfi", "-i",
		fmt.Sprintf("testsrc2=size=%s:rate=%d", c.size, c.fps), "-t", "30", "-vf", "noise=alls=12:allf=t",
		"-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-b:v", strings.TrimSuffix(c.bitrate, "bps"), "-maxrate", strings.TrimSuffix(c.bitrate, "bps"),
		"-bufsize", "1M", "-g", strconv.Itoa(c.fps), "-x264-params", "repeat-headers=1", "-f", "h264", clip)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("ffmpeg making the clip: %v\n%s", err, out)
	}
	return clip, nil
}
