// Package whippush tests camd's WHIP push end to end: the real camd binary
// publishes its test pattern to a WHIP endpoint in another process
// (cmd/whipingest, a pion peer that checks the token and the stream); the
// received H.264 must decode with ffmpeg; the endpoint is killed and
// started again, and camd must reconnect by itself and the stream resume.
//
// mediamtx would be the obvious endpoint, but the Go module proxy refuses
// github.com/bluenviron/mediamtx (403, as of 2026-11-23), so the endpoint
// is built from pion here.
package whippush

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream"
	"github.com/camd-project/camd/stream/whip/whiptest"
)

const token = "s3cret-push-token"

// ingest is a running whipingest.
type ingest struct {
	url  string
	cmd  *exec.Cmd
	logs *harness.SyncBuffer
}

func startIngest(t *testing.T, bin, addr, out string) *ingest {
	t.Helper()
	logs := &harness.SyncBuffer{}
	cmd := exec.Command(bin, "-listen", addr, "-token", token, "-out", out)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := &ingest{url: "http://" + addr, cmd: cmd, logs: logs}
	t.Cleanup(g.kill)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := g.stats(); err == nil {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("whipingest did not start:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (g *ingest) kill() {
	if g.cmd.ProcessState == nil {
		_ = g.cmd.Process.Kill()
		_ = g.cmd.Wait()
	}
}

func (g *ingest) stats() (whiptest.Stats, error) {
	var s whiptest.Stats
	resp, err := http.Get(g.url + "/stats")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

func status(t *testing.T, c *harness.Camd) stream.Status {
	t.Helper()
	var st stream.Status
	resp, err := c.Get(context.Background(), "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/api/status: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Push == nil {
		t.Fatal("/api/status has no push")
	}
	return st
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s\n%s", within, what, logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// probe decodes an Annex-B file with ffmpeg and returns the frames read,
// and ffprobe's view of the stream.
func probe(t *testing.T, path string) (frames int, codec string, width, height int) {
	t.Helper()
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "h264", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("ffmpeg decoding %s: %v\n%s", filepath.Base(path), err, out)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-f", "h264", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var r struct {
		Streams []struct {
			Codec  string `json:"codec_name"`
			Width  int    `json:"width"`
			Height int    `json:"height"`
			Frames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) != 1 {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	s := r.Streams[0]
	frames, _ = strconv.Atoi(s.Frames)
	return frames, s.Codec, s.Width, s.Height
}

func TestPushSurvivesIngestRestart(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/setup installs it)", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	camdBin, err := harness.Build(ctx, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	ingestBin := filepath.Join(dir, "whipingest")
	build := exec.CommandContext(ctx, "go", "build", "-o", ingestBin, "./scripts/whippush/cmd/whipingest")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build whipingest: %v\n%s", err, out)
	}
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	first := filepath.Join(dir, "first.h264")
	g := startIngest(t, ingestBin, addr, first)

	// The token comes from the environment, as the README advises.
	t.Setenv("CAMD_WHIP_TOKEN", token)
	c, err := harness.Start(ctx, camdBin, "-source", "pattern", "-size", "640x360", "-fps", "30",
		"-set", "whip.url="+g.url+"/whip", "-set", "whip.backoff_min=500ms", "-set", "whip.backoff_max=2s")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(10 * time.Second)
	logs := func() string { return "camd:\n" + c.Logs() + "\ningest:\n" + g.logs.String() }

	waitFor(t, 30*time.Second, "the push to connect", func() bool { return status(t, c).Push.Connected }, logs)
	waitFor(t, 20*time.Second, "90 access units at the ingest", func() bool {
		s, err := g.stats()
		return err == nil && s.Units >= 90
	}, logs)
	s, _ := g.stats()
	if !s.FirstIDR || !s.SPSFirst || s.Posts != 1 || len(s.Errors) > 0 {
		t.Errorf("ingest stats: %+v; want the first unit an IDR with SPS and PPS, one POST, no errors", s)
	}
	st := status(t, c)
	var push *stream.ViewerStatus
	for i := range st.Sessions {
		if st.Sessions[i].Kind == stream.KindWHIP {
			push = &st.Sessions[i]
		}
	}
	if push == nil || push.Packets == 0 || st.Push.State != "connected" || !strings.HasPrefix(st.Push.Resource, g.url+"/whip/") || st.Viewers != 1 {
		t.Errorf("camd status: push %+v, sessions %+v", st.Push, st.Sessions)
	}

	// The endpoint dies without a word, as a crashed server does.
	g.kill()
	killed := time.Now()
	frames, codec, w, h := probe(t, first)
	if frames < 60 || codec != "h264" || w != 640 || h != 360 {
		t.Errorf("first session: ffprobe read %d frames of %s %dx%d; want ≥ 60 of h264 640x360", frames, codec, w, h)
	}
	t.Logf("first session: %d access units at the ingest, %d frames decoded by ffmpeg", s.Units, frames)
	waitFor(t, 30*time.Second, "camd to notice the loss", func() bool {
		p := status(t, c).Push
		return !p.Connected && p.LastError != ""
	}, logs)
	p := status(t, c).Push
	t.Logf("loss noticed after %s: state %s, last error %q", time.Since(killed).Round(100*time.Millisecond), p.State, p.LastError)

	// A few refused attempts while it is down, then it comes back.
	time.Sleep(3 * time.Second)
	second := filepath.Join(dir, "second.h264")
	g2 := startIngest(t, ingestBin, addr, second)
	restarted := time.Now()
	waitFor(t, 30*time.Second, "the push to reconnect", func() bool {
		p := status(t, c).Push
		return p.Connected && p.Connects == 2
	}, logs)
	t.Logf("reconnected %s after the restart, %d attempts in all", time.Since(restarted).Round(100*time.Millisecond), status(t, c).Push.Attempts)
	waitFor(t, 20*time.Second, "90 access units after the restart", func() bool {
		s, err := g2.stats()
		return err == nil && s.Units >= 90
	}, logs)
	if s, _ := g2.stats(); !s.FirstIDR || !s.SPSFirst || len(s.Errors) > 0 {
		t.Errorf("after the restart: %+v", s)
	}
	if n := status(t, c).Push.Attempts; n < 3 {
		t.Errorf("%d attempts; want at least one refused while the endpoint was down", n)
	}

	// camd stops: it deletes its resource on the endpoint.
	if err := c.Stop(10 * time.Second); err != nil {
		t.Errorf("camd stop: %v", err)
	}
	if s, _ := g2.stats(); s.Deletes != 1 || s.Live != 0 {
		t.Errorf("after camd stopped, ingest stats %+v; want one DELETE and no live session", s)
	}
	g2.kill()
	frames, codec, w, h = probe(t, second)
	if frames < 60 || codec != "h264" || w != 640 || h != 360 {
		t.Errorf("second session: ffprobe read %d frames of %s %dx%d", frames, codec, w, h)
	}
	t.Logf("second session: %d frames decoded by ffmpeg", frames)
}
