package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

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
	rtspPort, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}

	cfg := testConfig(t, map[string]string{"rtsp.enabled": "true", "rtsp.port": strconv.Itoa(rtspPort), "rtsp.udp_port": "0"})
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

	// An RTSP reader too.
	rc := &gortsplib.Client{}
	u, err := base.ParseURL(fmt.Sprintf("rtsp://camd:%s@127.0.0.1:%d/camd", token, rtspPort))
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Start(u.Scheme, u.Host); err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	desc, _, err := rc.Describe(u)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 1)
	rc.OnPacketRTPAny(func(*description.Media, format.Format, *rtp.Packet) {
		select {
		case got <- struct{}{}:
		default:
		}
	})
	if _, err := rc.Play(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-cctx.Done():
		t.Fatalf("no RTP from camd; log:\n%s", logs.String())
	}

	// Shut down with the viewers still connected, as SIGTERM would.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("camd did not shut down within 10 s")
	}
	for _, want := range []string{"viewer gone", "RTSP reader gone"} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("shutdown did not close the viewer (no %q); log:\n%s", want, logs.String())
		}
	}
	_ = c.CloseWithoutDelete()
	rc.Close()
	settleGoroutines(t, before)
}
