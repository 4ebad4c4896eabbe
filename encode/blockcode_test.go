package encode

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camd-project/camd/capture/blockcode"
)

// needTool returns the path of a command-line tool, skipping the test when
// it is missing on a developer's machine and failing it in CI.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s not installed (apt-get install ffmpeg)", name)
		}
		t.Fatalf("%s is required in CI: %v", name, err)
	}
	return path
}

// TestBlockCodeRoundTrip encodes pattern frames at a low bitrate, decodes
// them with ffmpeg and reads every frame's block code back: the encoder
// keeps frames in order, the stream decodes cleanly, and the code survives
// compression well enough for a viewer to measure latency with it.
func TestBlockCodeRoundTrip(t *testing.T) {
	needSoftware(t)
	ffmpeg := needTool(t, "ffmpeg")
	ffprobe := needTool(t, "ffprobe")
	for _, tc := range []struct {
		w, h  int
		grain byte // film grain makes rate control skip frames
	}{{1280, 720, 0}, {640, 480, 0}, {640, 480, 16}} {
		w, h := tc.w, tc.h
		t.Run(fmt.Sprintf("%dx%d/grain%d", w, h, tc.grain), func(t *testing.T) {
			e := newTestOpenH264(t, Options{Width: w, Height: h, FPS: 30, Bitrate: 300_000, GOP: 2 * time.Second})
			aus := encodeRange(t, e, newFrameSource(w, h, tc.grain), 0, 90, nil)
			var stream bytes.Buffer
			for _, au := range aus {
				stream.Write(au.Data)
			}
			t.Logf("%d access units from 90 frames, %d bytes", len(aus), stream.Len())

			cmd := exec.Command(ffmpeg, "-v", "error", "-f", "h264", "-i", "pipe:0",
				"-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1")
			cmd.Stdin = bytes.NewReader(stream.Bytes())
			var out, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("ffmpeg: %v: %s", err, stderr.Bytes())
			}
			if stderr.Len() > 0 {
				t.Errorf("ffmpeg reported errors decoding the stream:\n%s", stderr.Bytes())
			}
			frameSize := w * h
			if out.Len()%frameSize != 0 || out.Len()/frameSize != len(aus) {
				t.Fatalf("ffmpeg decoded %d bytes, want %d frames of %d", out.Len(), len(aus), frameSize)
			}
			for i, au := range aus {
				code, err := blockcode.Read(out.Bytes()[i*frameSize:(i+1)*frameSize], w, w, h)
				if err != nil {
					t.Errorf("decoded frame %d (seq %d): %v", i, au.Seq, err)
					continue
				}
				if uint64(code.Seq) != au.Seq {
					t.Errorf("decoded frame %d: block code says seq %d, want %d", i, code.Seq, au.Seq)
				}
			}

			file := filepath.Join(t.TempDir(), "stream.h264")
			if err := os.WriteFile(file, stream.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			probe, err := exec.Command(ffprobe, "-hide_banner", file).CombinedOutput()
			if err != nil {
				t.Fatalf("ffprobe: %v: %s", err, probe)
			}
			line := ""
			for _, l := range strings.Split(string(probe), "\n") {
				if strings.Contains(l, "Video:") {
					line = strings.TrimSpace(l)
				}
			}
			t.Logf("ffprobe: %s", line)
			if !strings.Contains(line, "Constrained Baseline") {
				t.Errorf("ffprobe does not see constrained baseline: %q", line)
			}
		})
	}
}
