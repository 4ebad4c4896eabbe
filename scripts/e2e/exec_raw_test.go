package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os/exec"
	"testing"
	"time"

	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/stream/whepclient"
)

// TestExecRawSource: camd runs a command that writes raw frames of the
// declared format (ffmpeg's SMPTE bars here; rpicam-vid or a gstreamer
// pipeline on a board), encodes them and sends them to a viewer. ffmpeg
// decodes what the viewer got, and the picture must be the bars the
// command wrote: a format read with the wrong layout (NV12 as I420, YUYV
// as planar) scrambles the chroma and fails the comparison.
func TestExecRawSource(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("no ffmpeg")
	}
	const w, h = 320, 240
	// One frame of the bars as ffmpeg itself converts them to 4:2:0, the
	// reference for the decoded stream; SMPTE bars do not move.
	ref := ffmpegRaw(t, "-f", "lavfi", "-i", fmt.Sprintf("smptebars=size=%dx%d:rate=30", w, h),
		"-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1")
	for _, format := range []struct{ config, ffmpeg string }{{"nv12", "nv12"}, {"i420", "yuv420p"}, {"yuyv", "yuyv422"}} {
		t.Run(format.config, func(t *testing.T) {
			command := fmt.Sprintf("%s -hide_banner -loglevel error -re -f lavfi -i smptebars=size=%dx%d:rate=30 "+
				"-f rawvideo -pix_fmt %s -", ffmpeg, w, h, format.ffmpeg)
			c := startCamd(t, "-source", "exec", "-encoder", "auto", "-size", fmt.Sprintf("%dx%d", w, h), "-fps", "30",
				"-set", "source.command="+command, "-set", "source.exec_format="+format.config)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			wc, err := whepclient.Dial(ctx, c.URL+"/whep", whepclient.Options{IncludeLoopback: true, Token: c.Token})
			if err != nil {
				t.Fatal(err)
			}
			defer wc.Close()
			var stream bytes.Buffer
			const n = 30
			for i := 0; i < n; i++ {
				select {
				case u := <-wc.Units():
					if i == 0 && !h264.IsKeyframe(u.Data) {
						t.Fatal("first access unit is not a keyframe")
					}
					stream.Write(u.Data)
				case <-ctx.Done():
					t.Fatalf("got %d access units", i)
				}
			}
			sps, err := firstSPS(stream.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if sps.Width != w || sps.Height != h {
				t.Fatalf("stream is %dx%d, want %dx%d", sps.Width, sps.Height, w, h)
			}
			dec := ffmpegRawIn(t, stream.Bytes(), "-f", "h264", "-i", "pipe:0", "-fps_mode", "passthrough",
				"-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1")
			size := w * h * 3 / 2
			if len(dec) != n*size {
				t.Fatalf("ffmpeg decoded %d bytes, want %d frames of %d", len(dec), n, size)
			}
			last := dec[(n-1)*size:]
			y, cb, cr := psnr(ref[:w*h], last[:w*h]), psnr(ref[w*h:w*h*5/4], last[w*h:w*h*5/4]), psnr(ref[w*h*5/4:], last[w*h*5/4:])
			t.Logf("%s: %d access units, %d bytes; last frame vs the bars: PSNR Y %.1f dB, Cb %.1f dB, Cr %.1f dB",
				format.config, n, stream.Len(), y, cb, cr)
			if y < 30 || cb < 30 || cr < 30 {
				t.Errorf("decoded picture is not the command's bars (PSNR Y %.1f, Cb %.1f, Cr %.1f dB; want >= 30)", y, cb, cr)
			}
		})
	}
}

// firstSPS parses the first SPS in an Annex-B stream.
func firstSPS(b []byte) (h264.SPS, error) {
	for _, nal := range h264.SplitNALs(b) {
		if h264.TypeOf(nal) == h264.TypeSPS {
			return h264.ParseSPS(nal)
		}
	}
	return h264.SPS{}, fmt.Errorf("no SPS in %d bytes", len(b))
}

func ffmpegRaw(t *testing.T, args ...string) []byte { return ffmpegRawIn(t, nil, args...) }

// ffmpegRawIn runs ffmpeg with in on stdin and returns its stdout; any
// message on stderr fails the test.
func ffmpegRawIn(t *testing.T, in []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-v", "error"}, args...)...)
	cmd.Stdin = bytes.NewReader(in)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg %v: %v: %s", args, err, stderr.Bytes())
	}
	return out.Bytes()
}

// psnr compares two 8-bit planes.
func psnr(a, b []byte) float64 {
	var sum float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		sum += d * d
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(len(a))/sum)
}
