package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream/whepclient"
)

// cycle is one viewer's life: connect, receive the first picture, DELETE.
func cycle(ctx context.Context, url string, hc *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := whepclient.Dial(ctx, url+"/whep", whepclient.Options{IncludeLoopback: true, HTTPClient: hc, Token: harness.TestToken})
	if err != nil {
		return err
	}
	select {
	case <-c.Units():
	case <-ctx.Done():
		_ = c.Close()
		return fmt.Errorf("no picture: %w", ctx.Err())
	}
	return c.Close()
}

// cycles runs n cycles on workers goroutines and returns the first errors.
func cycles(t *testing.T, url string, n, workers int) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := cycle(context.Background(), url, hc); err != nil {
					failed.Add(1)
					mu.Lock()
					if len(errs) < 5 {
						errs = append(errs, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d viewer cycles failed, e.g. %v", failed.Load(), n, errs)
	}
}

// reading is camd's goroutines and resident memory at one moment.
type reading struct {
	goroutines int
	rss        int64
}

// quiet waits until camd has no viewers and its goroutines settle, then
// lets it idle so the garbage collector and scavenger catch up, and reads.
func quiet(t *testing.T, c *harness.Camd) reading {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body, err := httpGet(c.URL+"/api/status", 5*time.Second)
		var st struct{ Viewers int }
		if err == nil && code == 200 && json.Unmarshal([]byte(body), &st) == nil && st.Viewers == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("viewers still there 30 s after the cycles: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	g := settle(t, c.URL, 10*time.Second)
	p, err := harness.ReadProc(c.Pid())
	if err != nil {
		t.Fatal(err)
	}
	return reading{goroutines: g, rss: p.RSS}
}

// TestSoakViewerCycles: 1000 WHEP viewers connect, get their first picture
// and leave (DELETE), four at a time. Afterwards camd's goroutines are
// within 5 of the count before, and its resident memory grew by less than
// 5 MB. A warm-up of 100 cycles first brings the heap and pion's pools to
// their working size, so the baseline is a camd that has served viewers.
// SOAK_CYCLES overrides the 1000.
func TestSoakViewerCycles(t *testing.T) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("SOAK_CYCLES")); err == nil && v > 0 {
		n = v
	}
	// Each newcomer asks for a keyframe; coalescing them to one per 50 ms
	// instead of 500 keeps the cycles fast.
	c := harness.StartTest(t, camdBin, append(small, "-set", "webrtc.keyframe_min_interval=50ms")...)
	cycles(t, c.URL, 100, 4)
	before := quiet(t, c)
	start := time.Now()
	cycles(t, c.URL, n, 4)
	took := time.Since(start)
	after := quiet(t, c)
	t.Logf("%d viewer cycles in %v (%.0f/s): goroutines %d before, %d after; RSS %.1f MB before, %.1f MB after (%+.2f MB)",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), before.goroutines, after.goroutines,
		float64(before.rss)/(1<<20), float64(after.rss)/(1<<20), float64(after.rss-before.rss)/(1<<20))
	if d := after.goroutines - before.goroutines; d > 5 || d < -5 {
		t.Errorf("goroutines %d after, %d before: more than ±5 apart", after.goroutines, before.goroutines)
	}
	if g := after.rss - before.rss; g >= 5<<20 {
		t.Errorf("RSS grew %.1f MB over %d cycles, limit 5 MB", float64(g)/(1<<20), n)
	}
}
