package stream

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camd-project/camd/stream/streamtest"
	"github.com/camd-project/camd/stream/whepclient"
)

// setterLog is a fake encoder's SetBitrate.
type setterLog struct {
	mu    sync.Mutex
	rates []int
}

func (s *setterLog) SetBitrate(bps int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rates = append(s.rates, bps)
	return nil
}

func (s *setterLog) last() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rates) == 0 {
		return 0
	}
	return s.rates[len(s.rates)-1]
}

// waitStatus polls the status until ok holds.
func waitStatus(t *testing.T, ts *testServer, what string, ok func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := ts.Status()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10 s; status: bitrate %+v, sessions %+v", what, st.Bitrate, st.Sessions)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func viewer(st Status, id string) (ViewerStatus, bool) {
	for _, v := range st.Sessions {
		if strings.HasSuffix(id, "/"+v.ID) {
			return v, true
		}
	}
	return ViewerStatus{}, false
}

// A viewer that only sends REMB sets the target with it; one that sends
// no feedback at all does not constrain; when the REMB viewer leaves, the
// target climbs back to the initial rate in steps.
func TestREMBAndUnknownViewers(t *testing.T) {
	enc := &setterLog{}
	ts := newTestServer(t, Options{Bitrate: enc, Policy: PolicyOptions{Floor: 150_000, Ceiling: 6_000_000, Initial: 2_000_000}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func(o whepclient.Options) *whepclient.Client {
		o.IncludeLoopback = true
		c, err := whepclient.Dial(ctx, ts.url+"/whep", o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		go func() {
			for range c.Units() {
			}
		}()
		return c
	}
	remb := dial(whepclient.Options{Feedback: whepclient.FeedbackREMB, REMB: 700_000})
	none := dial(whepclient.Options{Feedback: whepclient.FeedbackNone})
	st := waitStatus(t, ts, "target from the REMB viewer", func(st Status) bool {
		v, ok := viewer(st, remb.Resource())
		return ok && v.EstimateSource == SourceREMB && st.Bitrate.TargetBps == 700_000
	})
	if v, _ := viewer(st, remb.Resource()); v.EstimateBps != 700_000 || !strings.HasSuffix(remb.Resource(), "/"+st.Bitrate.LimitedBy) {
		t.Fatalf("REMB viewer %+v, limited by %q", v, st.Bitrate.LimitedBy)
	}
	if v, ok := viewer(st, none.Resource()); !ok || v.EstimateBps != 0 || v.EstimateSource != "" {
		t.Fatalf("viewer without feedback: %+v", v)
	}
	if enc.last() != 700_000 || st.Encoder.Bitrate != 700_000 || !st.Bitrate.Adaptive {
		t.Fatalf("encoder set to %d, status says %d (adaptive %v)", enc.last(), st.Encoder.Bitrate, st.Bitrate.Adaptive)
	}
	// Each viewer started on a keyframe forced for it or on the cached one.
	if st.Stream.KeyframesForcedBy[ReasonNewViewer] == 0 && st.Stream.JoinedCached == 0 {
		t.Fatalf("no keyframe counted for new viewers: %v, none joined on the cached one", st.Stream.KeyframesForcedBy)
	}
	checkMetrics(t, ts, remb.Resource(), none.Resource())

	// The REMB viewer leaves: nobody constrains, back to the initial rate,
	// in steps.
	if err := remb.Close(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ts, "the initial rate again", func(st Status) bool { return st.Bitrate.TargetBps == 2_000_000 })
	enc.mu.Lock()
	steps := append([]int(nil), enc.rates...)
	enc.mu.Unlock()
	if len(steps) < 4 || steps[len(steps)-2] <= 700_000 || steps[len(steps)-2] >= 2_000_000 {
		t.Fatalf("encoder rates %v: want 700 kbit/s, then a step, then 2 Mbit/s", steps)
	}
}

// A viewer with TWCC gets a GCC estimate.
func TestTWCCViewerEstimate(t *testing.T) {
	ts := newTestServer(t, Options{Policy: PolicyOptions{Initial: 1_000_000}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := whepclient.Dial(ctx, ts.url+"/whep", whepclient.Options{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		for range c.Units() {
		}
	}()
	st := waitStatus(t, ts, "a TWCC estimate", func(st Status) bool {
		v, ok := viewer(st, c.Resource())
		return ok && v.EstimateSource == SourceTWCC && v.EstimateBps > 0
	})
	// Without an encoder to steer, the target stays where it was set.
	if st.Bitrate.Adaptive || st.Bitrate.TargetBps != 1_000_000 {
		t.Fatalf("bitrate status %+v without an encoder", st.Bitrate)
	}
}

var sampleLine = regexp.MustCompile(`^([a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [-+0-9.e]+$`)

// checkMetrics reads /metrics: every sample belongs to a family declared
// with HELP and TYPE, and the target and both viewers are there.
func checkMetrics(t *testing.T, ts *testServer, rembRes, noneRes string) {
	t.Helper()
	resp, err := http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("Content-Type %q", ct)
	}
	declared := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "#" && f[1] == "TYPE" {
			declared[f[2]] = true
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil || !declared[m[1]] {
			t.Fatalf("bad or undeclared sample %q", line)
		}
	}
	id := func(res string) string { return res[strings.LastIndex(res, "/")+1:] }
	for _, want := range []string{
		"camd_encoder_target_bps 700000\n",
		`camd_viewer_estimate_bps{viewer="` + id(rembRes) + `",source="remb"} 700000` + "\n",
		`camd_viewer_estimate_bps{viewer="` + id(noneRes) + `",source=""} 0` + "\n",
		"# TYPE camd_keyframes_forced_total counter\n",
		"camd_viewers_joined_cached_total ",
		`camd_viewer_retransmitted_packets_total{viewer="` + id(rembRes) + `"} 0` + "\n",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}

// Viewers that come, probe (restarting GCC) and go leave no goroutine
// behind once the server is closed.
func TestEstimatorsLeaveNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	hub := NewHub(HubOptions{Keyframes: &streamtest.Encoder{}})
	srv, err := NewServer(hub, Options{IncludeLoopback: true, Bitrate: &setterLog{}, Policy: PolicyOptions{Initial: 500_000}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	fed := make(chan struct{})
	go func() { defer close(fed); feed(ctx, hub, &streamtest.Encoder{}) }()
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	c, err := whepclient.Dial(dctx, "http://"+ln.Addr().String()+"/whep", whepclient.Options{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-c.Units():
			case <-ctx.Done():
				return
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := srv.Status()
		if len(st.Sessions) == 1 && st.Sessions[0].ProbesUp > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no probe raised the estimate: %+v", st.Sessions)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = c.Close()
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	<-fed
	<-drained
	hub.Close()
	http.DefaultClient.CloseIdleConnections()
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
	}
}
