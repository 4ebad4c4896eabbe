package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/config"
	"github.com/camd-project/camd/encode"
	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream/whepclient"
)

// wedgingEncoder is a real encoder that fails every frame once broken is
// set, as a codec whose state went bad does.
type wedgingEncoder struct {
	encode.Encoder
	broken atomic.Bool
}

func (e *wedgingEncoder) Encode(f *capture.Frame) (encode.AccessUnit, bool, error) {
	if e.broken.Load() {
		return encode.AccessUnit{}, false, errors.New("injected fault: codec wedged")
	}
	return e.Encoder.Encode(f)
}

// TestEncoderFailureRestartsPipeline: camd's real encoder starts failing
// every frame while a WHEP viewer watches. The pipeline rebuilds the
// encoder; the viewer stays connected on the same session, the first
// picture after the gap is a fresh IDR, video flows on, and /api/status
// and /metrics count the restart.
func TestEncoderFailureRestartsPipeline(t *testing.T) {
	var (
		mu    sync.Mutex
		built []*wedgingEncoder
	)
	buildEncoder = func(c config.Encoder, info capture.Info, log *slog.Logger) (encode.Encoder, error) {
		e, err := newEncoder(c, info, log)
		if err != nil {
			return nil, err
		}
		w := &wedgingEncoder{Encoder: e}
		mu.Lock()
		built = append(built, w)
		mu.Unlock()
		return w, nil
	}
	t.Cleanup(func() { buildEncoder = newEncoder })

	cfg := testConfig(t, map[string]string{"source.kind": "pattern", "encoder.gop": "10s", "auth.token": harness.TestToken})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	var logs harness.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runOn(ctx, cfg, log, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	c, err := whepclient.Dial(cctx, base+"/whep", whepclient.Options{IncludeLoopback: true, Token: harness.TestToken})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	next := func() whepclient.AccessUnit {
		t.Helper()
		select {
		case u := <-c.Units():
			return u
		case <-cctx.Done():
			t.Fatalf("no video; log:\n%s", logs.String())
		}
		return whepclient.AccessUnit{}
	}
	for range 30 {
		next()
	}

	mu.Lock()
	built[0].broken.Store(true)
	mu.Unlock()
	broke := time.Now()
	// Drain what was in flight, then wait for the gap to end.
	var u whepclient.AccessUnit
	last := time.Now()
	for {
		u = next()
		if u.Received.Sub(last) > 500*time.Millisecond {
			break // the first picture after the gap
		}
		last = u.Received
	}
	gap := u.Received.Sub(last)
	if !h264.IsKeyframe(u.Data) {
		t.Fatalf("first picture after the restart (gap %v) is not an IDR", gap)
	}
	for range 30 {
		next()
	}
	t.Logf("encoder broke; the viewer's picture paused %v and resumed with an IDR %v after the fault", gap.Round(time.Millisecond), u.Received.Sub(broke).Round(time.Millisecond))

	var st struct {
		Viewers int `json:"viewers"`
		Encoder struct {
			Errors, Restarts uint64
		} `json:"encoder"`
		Sessions []struct {
			ID string `json:"id"`
		} `json:"sessions"`
	}
	getJSON(t, base+"/api/status", &st)
	mu.Lock()
	n := len(built)
	mu.Unlock()
	switch {
	case n != 2 || st.Encoder.Restarts != 1:
		t.Fatalf("%d encoders built, status says %d restarts; want 2 and 1", n, st.Encoder.Restarts)
	case st.Encoder.Errors < 30:
		t.Fatalf("status counts %d encoder errors", st.Encoder.Errors)
	case st.Viewers != 1 || !strings.HasSuffix(c.Resource(), "/whep/"+st.Sessions[0].ID):
		t.Fatalf("the viewer's session did not survive: %+v, client %s", st, c.Resource())
	}
	if m := get(t, base+"/metrics"); !strings.Contains(m, "\ncamd_encoder_restarts_total 1\n") {
		t.Fatalf("/metrics lacks the restart:\n%s", m)
	}
	if !strings.Contains(logs.String(), "encoder restarted") {
		t.Fatalf("no log of the restart:\n%s", logs.String())
	}
}

// get fetches url with the test token and fails the test unless it is 200.
func get(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+harness.TestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(get(t, url)), v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}
