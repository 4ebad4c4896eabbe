// Command bench measures camd end to end on loopback with the test pattern:
// glass-to-glass latency in headless Chromium (read from the pattern's
// block code by camd's own page), the time from navigation to the first
// frame in an already running browser, and camd's CPU and peak memory with
// 1 and with 10 viewers. It prints a report; it asserts nothing (goals are
// read by people: median latency ≤ 80 ms, first frame ≤ 200 ms).
//
//	go run ./scripts/bench [-size 1280x720] [-fps 30] [-frames 300] [-runs 10]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/camd-project/camd/scripts/browser"
	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream/whepclient"
)

func main() {
	size := flag.String("size", "1280x720", "frame size")
	fps := flag.String("fps", "30", "frame rate")
	frames := flag.Int("frames", 300, "latency samples to collect")
	runs := flag.Int("runs", 10, "navigations for the first-frame time")
	window := flag.Duration("window", 20*time.Second, "measuring window for CPU")
	flag.Parse()
	if err := bench(*size, *fps, *frames, *runs, *window); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func bench(size, fps string, frames, runs int, window time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "camd-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	bin, err := harness.Build(ctx, root, dir)
	if err != nil {
		return err
	}
	fmt.Printf("camd bench: test pattern %s at %s fps on loopback\n\n", size, fps)

	// CPU and memory first, with Go viewers only, so the browser's own
	// decoding does not compete with camd for the two cores.
	for _, n := range []int{1, 10} {
		if err := cpuMem(ctx, bin, size, fps, n, window); err != nil {
			return err
		}
	}
	return browserBench(ctx, bin, size, fps, frames, runs)
}

func cpuMem(ctx context.Context, bin, size, fps string, viewers int, window time.Duration) error {
	c, err := harness.Start(ctx, bin, "-source", "pattern", "-size", size, "-fps", fps, "-set", "webrtc.max_viewers=64")
	if err != nil {
		return err
	}
	defer c.Stop(10 * time.Second)
	var clients []*whepclient.Client
	defer func() {
		for _, wc := range clients {
			_ = wc.Close()
		}
	}()
	for i := 0; i < viewers; i++ {
		wc, err := whepclient.Dial(ctx, c.URL+"/whep", whepclient.Options{IncludeLoopback: true, Buffer: 4, Token: c.Token})
		if err != nil {
			return err
		}
		clients = append(clients, wc)
		go func() { // keep reading so the client never backs up
			for range wc.Units() {
			}
		}()
	}
	time.Sleep(3 * time.Second) // settle: connections up, first keyframes out
	before, err := harness.ReadProc(c.Pid())
	if err != nil {
		return err
	}
	time.Sleep(window)
	after, err := harness.ReadProc(c.Pid())
	if err != nil {
		return err
	}
	var lost, pkts uint64
	for _, wc := range clients {
		s := wc.Stats()
		lost += s.Lost
		pkts += s.Packets
	}
	cpu := after.CPU - before.CPU
	fmt.Printf("viewers %2d: CPU %5.1f%% of one core (%.2f s over %s), peak RSS %.1f MiB, RSS %.1f MiB, packets %d, lost %d\n",
		viewers, 100*cpu.Seconds()/window.Seconds(), cpu.Seconds(), window, mib(after.PeakRSS), mib(after.RSS), pkts, lost)
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func browserBench(ctx context.Context, bin, size, fps string, frames, runs int) error {
	c, err := harness.Start(ctx, bin, "-source", "pattern", "-size", size, "-fps", fps)
	if err != nil {
		return err
	}
	defer c.Stop(10 * time.Second)
	b, err := browser.Launch(ctx, browser.Options{})
	if err != nil {
		return err
	}
	defer b.Close()
	p, err := b.NewPage(ctx)
	if err != nil {
		return err
	}

	// Time to first frame: navigate again and again in the running browser.
	var firsts []float64
	phases := map[string][]float64{}
	order := []string{"start", "offer", "posted", "answered", "connected", "firstFrame"}
	for i := 0; i < runs; i++ {
		if err := p.Navigate(ctx, "about:blank"); err != nil {
			return err
		}
		// A person opens the page now and then; back-to-back joins within
		// webrtc.keyframe_min_interval (500 ms) would wait for the
		// coalesced keyframe instead.
		time.Sleep(600 * time.Millisecond)
		if err := p.Navigate(ctx, c.PageURL()); err != nil {
			return err
		}
		if err := p.WaitFor(ctx, `window.camd && camd.stats.firstFrameMs !== null`, 5*time.Millisecond); err != nil {
			return fmt.Errorf("first frame: %w", err)
		}
		var ms float64
		if err := p.Eval(ctx, `camd.stats.firstFrameMs`, &ms); err != nil {
			return err
		}
		firsts = append(firsts, ms)
		var timing map[string]float64
		if err := p.Eval(ctx, `camd.timing`, &timing); err != nil {
			return err
		}
		for _, k := range order {
			phases[k] = append(phases[k], timing[k])
		}
	}
	fmt.Printf("\nnavigation to first frame (%d runs): median %.0f ms, min %.0f, max %.0f\n",
		runs, pct(firsts, 50), pct(firsts, 0), pct(firsts, 100))
	fmt.Printf("  milestones since navigation (medians):")
	for _, k := range order {
		fmt.Printf(" %s %.0f ms,", k, pct(phases[k], 50))
	}
	fmt.Println()

	// Glass-to-glass latency: per-frame samples from the page.
	if err := p.Eval(ctx, `camd.stats.latencySamples.length = 0`, nil); err != nil {
		return err
	}
	var samples []float64
	deadline := time.Now().Add(time.Duration(frames/20+30) * time.Second)
	for len(samples) < frames {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d latency samples; is the block code read?", len(samples))
		}
		time.Sleep(time.Second)
		if err := p.Eval(ctx, `camd.stats.latencySamples.slice()`, &samples); err != nil {
			return err
		}
	}
	var st struct {
		FramesDecoded int     `json:"framesDecoded"`
		PacketsLost   int     `json:"packetsLost"`
		FPS           float64 `json:"fps"`
	}
	_ = p.Eval(ctx, `camd.stats`, &st)
	fmt.Printf("glass-to-glass latency (%d frames): median %.1f ms, p95 %.1f ms, min %.1f, max %.1f (decoded %d frames, %.0f fps, lost %d packets)\n",
		len(samples), pct(samples, 50), pct(samples, 95), pct(samples, 0), pct(samples, 100), st.FramesDecoded, st.FPS, st.PacketsLost)
	return nil
}

// pct is the p-th percentile (nearest rank) of xs.
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(p / 100 * float64(len(s)-1))
	return s[i]
}
