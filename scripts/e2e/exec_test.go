package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/stream/whepclient"
)

// TestExecSource: camd runs a command that writes H.264 to stdout in real
// time (ffmpeg here, rpicam-vid on a Pi 5) and passes it through to a
// viewer, starting on an IDR.
func TestExecSource(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI needs ffmpeg")
		}
		t.Skip("no ffmpeg")
	}
	clip, err := filepath.Abs("../../capture/testdata/testsrc-320x240.h264")
	if err != nil {
		t.Fatal(err)
	}
	c := startCamd(t, "-source", "exec", "-set",
		"source.command=ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "+clip+" -c copy -f h264 -")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wc, err := whepclient.Dial(ctx, c.URL+"/whep", whepclient.Options{IncludeLoopback: true, Token: c.Token})
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	start := time.Now()
	for i := 0; i < 45; i++ {
		select {
		case u := <-wc.Units():
			if i == 0 && !h264.IsKeyframe(u.Data) {
				t.Fatal("first access unit is not a keyframe")
			}
		case <-ctx.Done():
			t.Fatalf("got %d access units from the command", i)
		}
	}
	// Paced by the command: 45 frames at 30 fps take about 1.5 s.
	if d := time.Since(start); d < time.Second {
		t.Fatalf("45 frames in %v: the command's pace was not kept", d)
	}
	t.Logf("45 access units from ffmpeg through camd in %v", time.Since(start).Round(10*time.Millisecond))
}
