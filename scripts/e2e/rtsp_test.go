package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
)

// needFFmpeg skips without Debian's ffmpeg and ffprobe, except in CI.
func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, b := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("CI needs %s", b)
			}
			t.Skipf("no %s", b)
		}
	}
}

// TestRTSPWithFFmpeg: ffprobe finds the H.264 stream at the configured
// size, and ffmpeg decodes three seconds of it without an error, over TCP
// (interleaved) and over UDP. While ffmpeg reads, /api/status counts it.
func TestRTSPWithFFmpeg(t *testing.T) {
	needFFmpeg(t)
	udp, err := harness.FreeUDPPair()
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 640, 360
	c := startCamd(t, "-source", "pattern", "-size", fmt.Sprintf("%dx%d", w, h), "-fps", "30",
		"-set", "rtsp.udp_port="+strconv.Itoa(udp), "-set", "rtsp.path=cams/front")
	url := fmt.Sprintf("rtsp://127.0.0.1:%d/cams/front", c.RTSPPort)

	for _, transport := range []string{"tcp", "udp"} {
		t.Run(transport, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			out, stderr, err := runCmd(ctx, "ffprobe", "-v", "error", "-rtsp_transport", transport,
				"-select_streams", "v:0", "-show_entries", "stream=codec_name,profile,width,height", "-of", "json", url)
			if err != nil {
				t.Fatalf("ffprobe: %v\n%s", err, stderr)
			}
			var probe struct {
				Streams []struct {
					Codec   string `json:"codec_name"`
					Profile string `json:"profile"`
					Width   int    `json:"width"`
					Height  int    `json:"height"`
				} `json:"streams"`
			}
			if err := json.Unmarshal(out, &probe); err != nil || len(probe.Streams) != 1 {
				t.Fatalf("ffprobe output %s: %v", out, err)
			}
			s := probe.Streams[0]
			if s.Codec != "h264" || s.Width != w || s.Height != h {
				t.Fatalf("ffprobe: %+v, want h264 %dx%d", s, w, h)
			}

			// While ffmpeg decodes, /api/status shows one RTSP reader.
			var sawReader atomic.Bool
			pctx, stopPoll := context.WithCancel(ctx)
			polled := make(chan struct{})
			go func() {
				defer close(polled)
				for pctx.Err() == nil {
					if st := rtspStatus(c.URL); st.Readers == 1 {
						sawReader.Store(true)
					}
					time.Sleep(200 * time.Millisecond)
				}
			}()
			start := time.Now()
			out, stderr, err = runCmd(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-rtsp_transport", transport,
				"-i", url, "-t", "3", "-map", "0:v", "-f", "framemd5", "-")
			stopPoll()
			<-polled
			if err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, stderr)
			}
			frames := 0
			for _, l := range strings.Split(string(out), "\n") {
				if l != "" && !strings.HasPrefix(l, "#") {
					frames++
				}
			}
			t.Logf("%s: %d frames decoded in 3 s of stream (%.1f s wall), %q on stderr, %s",
				transport, frames, time.Since(start).Seconds(), stderr, s.Profile)
			if len(bytes.TrimSpace(stderr)) != 0 {
				t.Errorf("ffmpeg reported errors:\n%s", stderr)
			}
			if frames < 45 { // 90 at 30 fps; a loaded machine may drop some
				t.Errorf("%d frames in 3 s, want at least 45", frames)
			}
			if !sawReader.Load() {
				t.Errorf("/api/status never showed the RTSP reader")
			}
		})
	}
	if !strings.Contains(c.Logs(), "RTSP reader gone") {
		t.Errorf("camd did not log the readers leaving")
	}
}

// runCmd runs a command and returns its stdout and stderr.
func runCmd(ctx context.Context, name string, args ...string) ([]byte, []byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.Bytes(), err
}

// rtspStatus reads the rtsp part of /api/status.
func rtspStatus(base string) (st struct {
	URL     string `json:"url"`
	Readers int    `json:"readers"`
}) {
	resp, err := http.Get(base + "/api/status")
	if err != nil {
		return st
	}
	defer resp.Body.Close()
	var s struct {
		RTSP *struct {
			URL     string `json:"url"`
			Readers int    `json:"readers"`
		} `json:"rtsp"`
	}
	if json.NewDecoder(resp.Body).Decode(&s) == nil && s.RTSP != nil {
		st.URL, st.Readers = s.RTSP.URL, s.RTSP.Readers
	}
	return st
}
