// Command camd-load opens many WHEP viewers from one process against camd
// or any WHEP server, and reports what each received: time to the first
// frame and to the first keyframe (from the start of the WHEP exchange),
// frames, frame rate, bitrate, loss and the keyframe requests it made. Each
// viewer is a full pion PeerConnection with the default interceptors, so it
// sends receiver reports, NACKs and transport-wide congestion feedback like
// a browser does, and a PLI when packets stay lost (as a browser that
// cannot decode does), at most one per 500 ms.
//
//	camd-load -url http://camd.local:8080/whep -n 50 -duration 30s
//
// -json prints one JSON line per viewer before the summary, for scripts
// (make bench-fanout reads them).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/stream/whepclient"
)

// viewerResult is what one viewer saw.
type viewerResult struct {
	ID            int     `json:"id"`
	Err           string  `json:"err,omitempty"`
	FirstFrameMs  float64 `json:"first_frame_ms"` // from the offer and POST to the first access unit
	FirstKeyframe bool    `json:"first_keyframe"`
	FirstIDRMs    float64 `json:"first_idr_ms"` // to the first keyframe
	ConnectMs     float64 `json:"connect_ms"`   // to ICE and DTLS up: the first keyframe's wait is the rest
	Frames        int     `json:"frames"`
	Keyframes     int     `json:"keyframes"`
	Bytes         int64   `json:"bytes"`
	FPS           float64 `json:"fps"`
	Kbps          float64 `json:"kbps"`
	Packets       uint64  `json:"packets"`
	Lost          uint64  `json:"lost"`
	Recovered     uint64  `json:"recovered"` // retransmissions that filled a gap
	LossPct       float64 `json:"loss_pct"`
	PLIs          int     `json:"plis"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("camd-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080/whep", "WHEP endpoint")
	n := fs.Int("n", 10, "viewers")
	duration := fs.Duration("duration", 20*time.Second, "how long each viewer watches after connecting")
	ramp := fs.Duration("ramp", 20*time.Millisecond, "pause between starting two viewers")
	token := fs.String("token", os.Getenv("CAMD_AUTH_TOKEN"), "camd's access token, sent as Authorization: Bearer (default $CAMD_AUTH_TOKEN; `camd token` prints it in the link)")
	asJSON := fs.Bool("json", false, "print every viewer's result as JSON lines")
	loopback := fs.Bool("loopback", false, "offer loopback candidates (server on 127.0.0.1)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *n < 1 {
		fmt.Fprintln(stderr, "camd-load: -n must be at least 1")
		return 2
	}
	// Each viewer holds a few sockets (ICE, mDNS, HTTP).
	if limit, err := raiseFileLimit(); err != nil {
		fmt.Fprintln(stderr, "camd-load: open-file limit:", err)
	} else if limit != 0 && limit < uint64(*n)*4+64 {
		fmt.Fprintf(stderr, "camd-load: warning: the open-file limit (%d) may be too low for %d viewers; raise it with ulimit -n\n", limit, *n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	results := make([]viewerResult, *n)
	var wg sync.WaitGroup
	for i := 0; i < *n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = watch(ctx, i, *url, *token, *loopback, *duration)
		}()
		select {
		case <-ctx.Done():
		case <-time.After(*ramp):
		}
	}
	wg.Wait()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range results {
			_ = enc.Encode(r)
		}
	}
	return report(stdout, results)
}

// watch is one viewer's life: connect, count, disconnect.
func watch(ctx context.Context, id int, url, token string, loopback bool, d time.Duration) viewerResult {
	r := viewerResult{ID: id}
	start := time.Now()
	c, err := whepclient.Dial(ctx, url, whepclient.Options{Token: token, IncludeLoopback: loopback, Buffer: 8})
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer c.Close()
	end := time.After(d)
	check := time.NewTicker(pliInterval)
	defer check.Stop()
	var first, last time.Time
	var lost uint64
	connected := c.Connected()
	for {
		select {
		case <-connected:
			r.ConnectMs = ms(time.Since(start))
			connected = nil
		case u := <-c.Units():
			key := h264.IsKeyframe(u.Data)
			if r.Frames == 0 {
				first = u.Received
				r.FirstFrameMs = ms(first.Sub(start))
				r.FirstKeyframe = key
			}
			if key {
				if r.Keyframes == 0 {
					r.FirstIDRMs = ms(u.Received.Sub(start))
				}
				r.Keyframes++
			}
			r.Frames++
			r.Bytes += int64(len(u.Data))
			last = u.Received
		case <-check.C:
			// Packets still missing after NACKs had their chance: the
			// picture is broken, ask for a keyframe as a browser would.
			if st := c.Stats(); st.Lost > lost {
				lost = st.Lost
				if c.RequestKeyframe() == nil {
					r.PLIs++
				}
			}
		case <-end:
			return finish(r, c, first, last)
		case <-ctx.Done():
			return finish(r, c, first, last)
		}
	}
}

// pliInterval is how often a viewer looks for unrepaired loss, and so the
// least time between its PLIs.
const pliInterval = 500 * time.Millisecond

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func finish(r viewerResult, c *whepclient.Client, first, last time.Time) viewerResult {
	st := c.Stats()
	r.Packets, r.Lost, r.Recovered = st.Packets, st.Lost, st.Recovered
	if total := st.Packets + st.Lost; total > 0 {
		r.LossPct = 100 * float64(st.Lost) / float64(total)
	}
	if span := last.Sub(first).Seconds(); r.Frames > 1 && span > 0 {
		r.FPS = float64(r.Frames-1) / span
		r.Kbps = float64(r.Bytes) * 8 / 1000 / span
	}
	if r.Frames == 0 && r.Err == "" {
		r.Err = errNoVideo.Error()
	}
	return r
}

var errNoVideo = errors.New("no video")

// report prints percentiles over the viewers and returns the exit code:
// 1 when any viewer failed.
func report(w io.Writer, rs []viewerResult) int {
	var ok []viewerResult
	failed := 0
	for _, r := range rs {
		if r.Err != "" {
			failed++
			continue
		}
		ok = append(ok, r)
	}
	fmt.Fprintf(w, "viewers: %d connected, %d failed\n", len(ok), failed)
	if len(ok) > 0 {
		col := func(name, unit string, f func(viewerResult) float64) {
			v := make([]float64, len(ok))
			for i, r := range ok {
				v[i] = f(r)
			}
			sort.Float64s(v)
			p := func(q float64) float64 { return v[int(q*float64(len(v)-1))] }
			fmt.Fprintf(w, "%-16s min %8.1f  p50 %8.1f  p95 %8.1f  max %8.1f %s\n", name, v[0], p(0.5), p(0.95), v[len(v)-1], unit)
		}
		col("first frame", "ms", func(r viewerResult) float64 { return r.FirstFrameMs })
		col("connected", "ms", func(r viewerResult) float64 { return r.ConnectMs })
		col("first keyframe", "ms", func(r viewerResult) float64 { return r.FirstIDRMs })
		col("frames", "", func(r viewerResult) float64 { return float64(r.Frames) })
		col("frame rate", "fps", func(r viewerResult) float64 { return r.FPS })
		col("bitrate", "kbit/s", func(r viewerResult) float64 { return r.Kbps })
		col("loss", "%", func(r viewerResult) float64 { return r.LossPct })
		col("PLIs sent", "", func(r viewerResult) float64 { return float64(r.PLIs) })
		notKey := 0
		for _, r := range ok {
			if !r.FirstKeyframe {
				notKey++
			}
		}
		fmt.Fprintf(w, "first frame not a keyframe: %d viewers\n", notKey)
	}
	seen := map[string]int{}
	for _, r := range rs {
		if r.Err != "" {
			seen[r.Err]++
		}
	}
	for e, k := range seen {
		fmt.Fprintf(w, "error (%d viewers): %s\n", k, e)
	}
	if failed > 0 {
		return 1
	}
	return 0
}
