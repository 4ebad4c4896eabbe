package nettest

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// row is one sample of everything, every sampleEvery.
type row struct {
	T      float64 // seconds since the scenario started
	Link   [2]int  // bits per second of each viewer's link (0: unlimited)
	Target int     // camd's encoder target
	Est    [2]int  // each viewer's estimate in camd
	Below  [2]bool // reported below the floor
	// Chromium (viewer 0) and the Go client (viewer 1), cumulative.
	Chrome chromeStats
	Go     goSample
}

const sampleEvery = 250 * time.Millisecond

// viewers names the two viewers in the order of the rows' arrays.
var viewers = [2]string{"chromium", "go"}

// recorder samples camd, Chromium and the Go client until stopped.
type recorder struct {
	top    *topology
	chrome *chromeViewer
	gov    *goViewer
	start  time.Time

	mu     sync.Mutex
	rows   []row
	errs   []error // the first few failed samples
	failed int

	stop func()
	done chan struct{}
}

func record(t *testing.T, top *topology, c *chromeViewer, g *goViewer) *recorder {
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{top: top, chrome: c, gov: g, start: time.Now(), stop: cancel, done: make(chan struct{})}
	hc := top.httpClient()
	go func() {
		defer close(r.done)
		tk := time.NewTicker(sampleEvery)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			x := row{T: time.Since(r.start).Seconds()}
			for i, l := range top.links {
				x.Link[i] = l.rate
			}
			sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
			st, err := top.status(sctx, hc)
			if err == nil {
				x.Target = st.Bitrate.TargetBps
				for _, v := range st.Sessions {
					for i, l := range top.links {
						if remoteIs(v.Remote, l) {
							x.Est[i], x.Below[i] = v.EstimateBps, v.BelowFloor
						}
					}
				}
			}
			cs, cerr := c.stats(sctx)
			scancel()
			x.Chrome, x.Go = cs, g.sample()
			r.mu.Lock()
			if err != nil || cerr != nil {
				r.failed++
				if len(r.errs) < 3 {
					r.errs = append(r.errs, fmt.Errorf("at %.1f s: status: %v; chromium: %v", x.T, err, cerr))
				}
			} else {
				r.rows = append(r.rows, x)
			}
			r.mu.Unlock()
		}
	}()
	t.Cleanup(r.finish)
	return r
}

// now is the scenario time in seconds.
func (r *recorder) now() float64 { return time.Since(r.start).Seconds() }

// sleepUntil waits until scenario time s.
func (r *recorder) sleepUntil(s float64) {
	time.Sleep(time.Until(r.start.Add(time.Duration(s * float64(time.Second)))))
}

func (r *recorder) finish() {
	r.stop()
	<-r.done
}

func (r *recorder) series() []row {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]row(nil), r.rows...)
}

// at returns the last row at or before time s.
func at(rows []row, s float64) row {
	i := sort.Search(len(rows), func(i int) bool { return rows[i].T > s })
	if i == 0 {
		return rows[0]
	}
	return rows[i-1]
}

// rates returns each viewer's received video rate in bits per second at
// every row, over the second before it.
func rates(rows []row) [][2]float64 {
	out := make([][2]float64, len(rows))
	for i, x := range rows {
		p := at(rows, x.T-1)
		if dt := x.T - p.T; dt > 0 {
			out[i][0] = math.Max(0, (x.Chrome.Bytes-p.Chrome.Bytes)*8/dt)
			out[i][1] = math.Max(0, float64(x.Go.Bytes)-float64(p.Go.Bytes)) * 8 / dt
		}
	}
	return out
}

// outDir is where the series go: $CAMD_NETTEST_OUT, or a new temporary
// directory that outlives the test.
func outDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CAMD_NETTEST_OUT")
	if dir == "" {
		d, err := os.MkdirTemp("", "camd-nettest-")
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeSeries writes name.csv and name.png into dir.
func writeSeries(t *testing.T, dir, name, title string, rows []row, marks []mark) {
	t.Helper()
	rx := rates(rows)
	f, err := os.Create(filepath.Join(dir, name+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	head := []string{"t_s", "target_bps"}
	for _, v := range viewers {
		head = append(head, "link_"+v+"_bps", "estimate_"+v+"_bps", "received_"+v+"_bps", "below_floor_"+v)
	}
	head = append(head, "chromium_frames", "chromium_freezes_s", "chromium_packets_lost", "chromium_keyframes", "chromium_plis", "chromium_nacks",
		"go_packets", "go_lost", "go_recovered")
	_ = w.Write(head)
	for i, x := range rows {
		rec := []string{strconv.FormatFloat(x.T, 'f', 3, 64), strconv.Itoa(x.Target)}
		for v := range viewers {
			rec = append(rec, strconv.Itoa(x.Link[v]), strconv.Itoa(x.Est[v]), strconv.Itoa(int(rx[i][v])), strconv.FormatBool(x.Below[v]))
		}
		rec = append(rec, fmt.Sprint(x.Chrome.Frames), fmt.Sprint(x.Chrome.Freezes), fmt.Sprint(x.Chrome.Lost),
			fmt.Sprint(x.Chrome.KeyFrames), fmt.Sprint(x.Chrome.PLIs), fmt.Sprint(x.Chrome.NACKs),
			fmt.Sprint(x.Go.Packets), fmt.Sprint(x.Go.Lost), fmt.Sprint(x.Go.Recovered))
		_ = w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	png, err := chart(title, rows, rx, marks)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("time series: %s (and .png)", filepath.Join(dir, name+".csv"))
}

// saveLog writes camd's log (debug level: estimates, probes, bitrate
// changes) next to the series.
func saveLog(t *testing.T, dir, name string, cam *process) {
	t.Helper()
	path := filepath.Join(dir, name+"-camd.log")
	if err := os.WriteFile(path, []byte(cam.logs.String()), 0o644); err != nil {
		t.Error(err)
	}
}

// logFreezes logs, for each sample in [from, to) where Chromium's freeze
// total grew, what else moved in that sample: whether a keyframe was
// decoded, PLIs and NACKs sent, packets lost, and the target. A freeze with
// a keyframe and no PLI is a large periodic keyframe crossing the link; one
// after a PLI is a picture the decoder could not use.
func logFreezes(t *testing.T, rows []row, from, to float64) {
	t.Helper()
	for i := 1; i < len(rows); i++ {
		p, x := rows[i-1].Chrome, rows[i].Chrome
		if rows[i].T < from || rows[i].T >= to || x.Freezes <= p.Freezes {
			continue
		}
		t.Logf("  freeze at %.2f s: +%.2f s (%.0f in all), %.0f frames, %.0f keyframes, %.0f PLIs, %.0f NACKs, %.0f lost, target %d bit/s",
			rows[i].T, x.Freezes-p.Freezes, x.FreezeN, x.Frames-p.Frames, x.KeyFrames-p.KeyFrames,
			x.PLIs-p.PLIs, x.NACKs-p.NACKs, x.Lost-p.Lost, rows[i].Target)
	}
}
