package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream/whepclient"
)

// fetchSnapshot GETs /snapshot.jpg and decodes it.
func fetchSnapshot(t *testing.T, c *harness.Camd) (image.Image, []byte) {
	t.Helper()
	resp, err := c.Get(context.Background(), "/snapshot.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /snapshot.jpg: %s %v %q", resp.Status, resp.Header, b)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the snapshot is not a JPEG: %v", err)
	}
	return img, b
}

// differing is the share of pixels whose luma differs by more than 16.
func differing(a, b image.Image) float64 {
	ya, yb := a.(*image.YCbCr), b.(*image.YCbCr)
	r := ya.Bounds()
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			d := int(ya.Y[ya.YOffset(x, y)]) - int(yb.Y[yb.YOffset(x, y)])
			if d > 16 || d < -16 {
				n++
			}
		}
	}
	return float64(n) / float64(r.Dx()*r.Dy())
}

// TestSnapshot: /snapshot.jpg of the test pattern is a lit JPEG of the
// configured size, a second later it shows the pattern moved, HEAD works,
// and the page links to it.
func TestSnapshot(t *testing.T) {
	const w, h = 640, 360
	c := startCamd(t, "-source", "pattern", "-size", fmt.Sprintf("%dx%d", w, h), "-fps", "30")
	// Watching needs the token, and so does a snapshot.
	if resp, err := http.Get(c.URL + "/snapshot.jpg"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /snapshot.jpg without the token: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}
	start := time.Now()
	first, b := fetchSnapshot(t, c)
	took := time.Since(start)
	st := harness.Measure(first)
	t.Logf("snapshot: %d bytes, %dx%d, mean luma %.0f, lit %.2f, in %v", len(b), st.Width, st.Height, st.MeanLuma, st.Lit, took)
	if st.Width != w || st.Height != h {
		t.Fatalf("snapshot is %dx%d, want %dx%d", st.Width, st.Height, w, h)
	}
	if st.Lit < 0.5 || st.MeanLuma < 40 {
		t.Fatalf("snapshot is dark: %+v", st)
	}
	time.Sleep(time.Second)
	second, _ := fetchSnapshot(t, c)
	if d := differing(first, second); d < 0.01 {
		t.Fatalf("two snapshots a second apart differ in %.4f of their pixels; the pattern moves", d)
	} else {
		t.Logf("a second later %.1f%% of the pixels changed", 100*d)
	}

	resp, err := c.Request(context.Background(), http.MethodHead, "/snapshot.jpg", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength <= 0 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("HEAD /snapshot.jpg: %s, length %d", resp.Status, resp.ContentLength)
	}

	t.Run("page link", func(t *testing.T) {
		needBrowser(t)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		p := openPage(t, ctx, launch(t), c.PageURL())
		var size string
		// The link fetches the picture with the page's token
		// (camd.snapshot, what its click handler opens).
		err := p.Eval(ctx, `new Promise((ok, fail) => {
			const a = document.getElementById("snapshot");
			if (!a || a.offsetWidth === 0) { fail(new Error("no visible snapshot link")); return; }
			camd.snapshot().then((url) => {
				const img = new Image();
				img.onload = () => ok(img.naturalWidth + "x" + img.naturalHeight);
				img.onerror = () => fail(new Error("the snapshot does not load as an image"));
				img.src = url;
			}, fail);
		})`, &size)
		if err != nil {
			t.Fatal(err)
		}
		if size != fmt.Sprintf("%dx%d", w, h) {
			t.Fatalf("the page's snapshot link loads a %s image", size)
		}
	})
}

// TestSnapshotWhileStreaming: snapshots asked for back to back do not
// stall or thin out a viewer's stream.
func TestSnapshotWhileStreaming(t *testing.T) {
	c := startCamd(t, "-source", "pattern", "-size", "640x360", "-fps", "30")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wc, err := whepclient.Dial(ctx, c.URL+"/whep", whepclient.Options{IncludeLoopback: true, Token: c.Token})
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	// window counts the access units in d and the longest gap between two.
	window := func(d time.Duration) (n int, gap time.Duration) {
		end := time.After(d)
		last := time.Now()
		for {
			select {
			case u := <-wc.Units():
				n++
				gap = max(gap, u.Received.Sub(last))
				last = u.Received
			case <-end:
				return n, gap
			case <-ctx.Done():
				t.Fatal("timed out")
			}
		}
	}
	window(time.Second) // settle
	calm, calmGap := window(3 * time.Second)

	var shots, bytesOut atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := c.Get(ctx, "/snapshot.jpg")
			if err != nil {
				t.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("snapshot: %s", resp.Status)
				return
			}
			shots.Add(1)
			bytesOut.Add(n)
		}
	}()
	busy, busyGap := window(3 * time.Second)
	close(stop)
	<-done

	var status struct {
		Source struct {
			Dropped uint64 `json:"dropped"`
		} `json:"source"`
		Sessions []struct {
			Dropped uint64 `json:"dropped"`
		} `json:"sessions"`
	}
	resp, err := c.Get(context.Background(), "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&status)
	resp.Body.Close()
	if err != nil || len(status.Sessions) != 1 {
		t.Fatalf("status: %v %+v", err, status)
	}
	t.Logf("3 s without snapshots: %d frames, longest gap %v; 3 s with %d snapshots back to back (%d KB): %d frames, longest gap %v; viewer drops %d, source drops %d",
		calm, calmGap.Round(time.Millisecond), shots.Load(), bytesOut.Load()>>10, busy, busyGap.Round(time.Millisecond),
		status.Sessions[0].Dropped, status.Source.Dropped)
	if shots.Load() < 10 {
		t.Fatalf("only %d snapshots in 3 s", shots.Load())
	}
	if busy < calm*3/4 || busyGap > 500*time.Millisecond {
		t.Fatalf("snapshots disturbed the stream: %d frames (%d without), longest gap %v", busy, calm, busyGap)
	}
	if status.Sessions[0].Dropped != 0 {
		t.Fatalf("the viewer lost %d access units", status.Sessions[0].Dropped)
	}
}

// TestSnapshotOfH264Source: a source that gives H.264 is passed through
// undecoded, so there is no picture: 501 with the reason, and the stream
// goes on.
func TestSnapshotOfH264Source(t *testing.T) {
	clip, err := filepath.Abs("../../capture/testdata/testsrc-320x240.h264")
	if err != nil {
		t.Fatal(err)
	}
	c := startCamd(t, "-source", "file", "-file", clip)
	resp, err := c.Get(context.Background(), "/snapshot.jpg")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented || !strings.Contains(string(body), "passes through without decoding") {
		t.Fatalf("snapshot of an H.264 file: %s %q", resp.Status, body)
	}
	t.Logf("%s: %s", resp.Status, strings.TrimSpace(string(body)))

	t.Run("page hides the link", func(t *testing.T) {
		needBrowser(t)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		p := openPage(t, ctx, launch(t), c.PageURL())
		if err := p.WaitFor(ctx, `document.getElementById("snapshot").offsetWidth === 0`, 50*time.Millisecond); err != nil {
			t.Fatalf("the snapshot link stays visible for an H.264 source: %v", err)
		}
	})
}
