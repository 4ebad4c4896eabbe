package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	// As for WHEP: the token is the password, any user name.
	url := fmt.Sprintf("rtsp://camd:%s@127.0.0.1:%d/cams/front", c.Token, c.RTSPPort)
	for _, bad := range []string{
		fmt.Sprintf("rtsp://127.0.0.1:%d/cams/front", c.RTSPPort),
		fmt.Sprintf("rtsp://camd:wrong-token@127.0.0.1:%d/cams/front", c.RTSPPort),
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, stderr, err := runCmd(ctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp", bad)
		cancel()
		if err == nil || !bytes.Contains(stderr, []byte("401")) {
			t.Fatalf("ffprobe %s: %v, want a 401 refusal; stderr:\n%s", bad, err, stderr)
		}
		t.Logf("without the token: %s", bytes.TrimSpace(stderr))
	}

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
			var reader atomic.Pointer[rtspReader]
			pctx, stopPoll := context.WithCancel(ctx)
			polled := make(chan struct{})
			go func() {
				defer close(polled)
				for pctx.Err() == nil {
					if st := rtspStatus(c); st.Readers == 1 && len(st.Sessions) == 1 {
						reader.Store(&st.Sessions[0])
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
			r := reader.Load()
			if r == nil {
				t.Fatalf("/api/status never showed the RTSP reader")
			}
			t.Logf("%s: ffmpeg decoded %d frames in 3 s of stream (%.1f s wall), %q on stderr, %s; camd: %+v",
				transport, frames, time.Since(start).Seconds(), stderr, s.Profile, *r)
			if len(bytes.TrimSpace(stderr)) != 0 {
				t.Errorf("ffmpeg reported errors:\n%s", stderr)
			}
			// 90 at 30 fps; the pattern and the encoder skip frames on a
			// loaded machine, but the RTSP path loses none.
			if frames < 30 || r.Dropped != 0 || r.Transport != transport {
				t.Errorf("%d frames in 3 s (want at least 30), %d dropped for the reader (want 0), transport %q",
					frames, r.Dropped, r.Transport)
			}
		})
	}
	resp, err := c.Get(context.Background(), "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(metrics, []byte("\ncamd_rtsp_readers 0\n")) {
		t.Errorf("/metrics has no camd_rtsp_readers 0 after the readers left:\n%s", metrics)
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

// rtspReader is one reader in /api/status.
type rtspReader struct {
	Transport string `json:"transport"`
	Sent      uint64 `json:"access_units"`
	Dropped   uint64 `json:"dropped"`
}

// rtspState is the rtsp part of /api/status.
type rtspState struct {
	URL      string       `json:"url"`
	Readers  int          `json:"readers"`
	Sessions []rtspReader `json:"sessions"`
}

// rtspStatus reads the rtsp part of /api/status.
func rtspStatus(c *harness.Camd) rtspState {
	var s struct {
		RTSP *rtspState `json:"rtsp"`
	}
	resp, err := c.Get(context.Background(), "/api/status")
	if err != nil {
		return rtspState{}
	}
	defer resp.Body.Close()
	if json.NewDecoder(resp.Body).Decode(&s) != nil || s.RTSP == nil {
		return rtspState{}
	}
	return *s.RTSP
}
