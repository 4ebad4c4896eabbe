package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream/whepclient"
)

// settleGoroutines waits for the goroutine count to come back to at most
// want, and dumps the stacks when it does not.
func settleGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			var b bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Fatalf("goroutines: %d, want at most %d (before start). Still running:\n%s", runtime.NumGoroutine(), want, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestShutdownWithViewerLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()

	cfg := testConfig(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs harness.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runOn(ctx, cfg, log, ln) }()

	cctx, ccancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer ccancel()
	token := waitToken(t, cfg.StateDir)
	c, err := whepclient.Dial(cctx, "http://"+ln.Addr().String()+"/whep", whepclient.Options{IncludeLoopback: true, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		select {
		case <-c.Units():
		case <-cctx.Done():
			t.Fatalf("no video from camd; log:\n%s", logs.String())
		}
	}

	// Shut down with the viewer still connected, as SIGTERM would.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("camd did not shut down within 10 s")
	}
	if !strings.Contains(logs.String(), "viewer gone") {
		t.Fatalf("shutdown did not close the viewer; log:\n%s", logs.String())
	}
	_ = c.CloseWithoutDelete()
	settleGoroutines(t, before)
}
