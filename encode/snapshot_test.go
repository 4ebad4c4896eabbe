package encode

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/blockcode"
)

// runPipeline runs src through a fake encoder until the test ends.
func runPipeline(t *testing.T, src capture.Source) *Pipeline {
	t.Helper()
	return runPipelineOf(t, &Pipeline{Source: src, Encoder: &fakeEncoder{}, Out: func(AccessUnit) {}})
}

func runPipelineOf(t *testing.T, p *Pipeline) *Pipeline {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return p
}

func snapshot(t *testing.T, p *Pipeline) (Snapshot, image.Image) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := p.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(s.JPEG))
	if err != nil {
		t.Fatalf("the snapshot is not a JPEG: %v", err)
	}
	return s, img
}

// The snapshot of the test pattern is the frame it says it is: its block
// code, read back from the JPEG, carries the frame's number.
func TestSnapshotOfThePattern(t *testing.T) {
	checkGoroutines(t)
	src := capture.NewPattern(capture.PatternOptions{Width: 640, Height: 360, FPS: 30})
	p := &Pipeline{Source: src, Encoder: &fakeEncoder{}, Out: func(AccessUnit) {}}
	var clock atomic.Int64 // nanoseconds on a test clock
	p.snap.now = func() time.Time { return time.Unix(0, clock.Load()) }
	p = runPipelineOf(t, p)
	var last uint64
	for i := range 3 {
		s, img := snapshot(t, p)
		if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 360 {
			t.Fatalf("snapshot is %v, want 640x360", b)
		}
		y, ok := img.(*image.YCbCr)
		if !ok {
			t.Fatalf("decoded %T", img)
		}
		c, err := blockcode.Read(y.Y, y.YStride, 640, 360)
		if err != nil {
			t.Fatalf("block code in the snapshot: %v", err)
		}
		if uint64(c.Seq) != s.Seq&0xffffffff || s.Time.IsZero() {
			t.Fatalf("snapshot says frame %d, its picture says %d", s.Seq, c.Seq)
		}
		if i > 0 && s.Seq <= last {
			t.Fatalf("snapshot %d is frame %d, not after %d", i, s.Seq, last)
		}
		last = s.Seq
		// Asked again at once: the same snapshot, not another JPEG.
		if again, _ := snapshot(t, p); again.Seq != s.Seq || !bytes.Equal(again.JPEG, s.JPEG) {
			t.Fatalf("a snapshot asked for at once is frame %d, not the reused %d", again.Seq, s.Seq)
		}
		clock.Add(int64(SnapshotReuse))
	}
}

// rawSource emits frames of one format and flat colour until ctx ends.
type rawSource struct {
	format capture.Format
	w, h   int
	y, cb  byte
	jpeg   []byte
}

func (s *rawSource) Info() capture.Info {
	return capture.Info{Name: "raw", Format: s.format, Width: s.w, Height: s.h, FPS: 100}
}

func (s *rawSource) frame(seq uint64) *capture.Frame {
	w, h := s.w, s.h
	f := &capture.Frame{Format: s.format, Width: w, Height: h, Seq: seq, Time: time.Now(), JPEG: s.jpeg}
	fill := func(n int, v byte) []byte { return bytes.Repeat([]byte{v}, n) }
	switch s.format {
	case capture.I420:
		f.Planes = [][]byte{fill(w*h, s.y), fill(w*h/4, s.cb), fill(w*h/4, 128)}
		f.Strides = []int{w, w / 2, w / 2}
	case capture.NV12:
		uv := make([]byte, w*h/2)
		for i := 0; i < len(uv); i += 2 {
			uv[i], uv[i+1] = s.cb, 128
		}
		f.Planes, f.Strides = [][]byte{fill(w*h, s.y), uv}, []int{w, w}
	case capture.YUYV:
		p := make([]byte, 2*w*h)
		for i := 0; i < len(p); i += 4 {
			p[i], p[i+1], p[i+2], p[i+3] = s.y, s.cb, s.y, 128
		}
		f.Planes, f.Strides = [][]byte{p}, []int{2 * w}
	}
	return f
}

func (s *rawSource) Run(ctx context.Context, emit func(*capture.Frame)) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for seq := uint64(0); ; seq++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			emit(s.frame(seq))
		}
	}
}

func TestSnapshotOfRawFormats(t *testing.T) {
	checkGoroutines(t)
	for _, f := range []capture.Format{capture.I420, capture.NV12, capture.YUYV} {
		t.Run(f.String(), func(t *testing.T) {
			p := runPipeline(t, &rawSource{format: f, w: 64, h: 48, y: 180, cb: 60})
			_, img := snapshot(t, p)
			yc := img.(*image.YCbCr)
			gotY, gotCb := yc.Y[yc.YOffset(32, 24)], yc.Cb[yc.COffset(32, 24)]
			if d := int(gotY) - 180; d < -3 || d > 3 {
				t.Errorf("luma %d, want 180", gotY)
			}
			if d := int(gotCb) - 60; d < -3 || d > 3 {
				t.Errorf("Cb %d, want 60", gotCb)
			}
		})
	}
}

// An MJPEG camera's own JPEG is served as it is.
func TestSnapshotOfMJPEGIsTheCamerasJPEG(t *testing.T) {
	checkGoroutines(t)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 32, 16)), nil); err != nil {
		t.Fatal(err)
	}
	p := runPipeline(t, &rawSource{format: capture.I420, w: 32, h: 16, jpeg: b.Bytes()})
	s, _ := snapshot(t, p)
	if !bytes.Equal(s.JPEG, b.Bytes()) {
		t.Fatal("the snapshot is not the camera's JPEG")
	}
}

func TestSnapshotErrors(t *testing.T) {
	checkGoroutines(t)
	// H.264 from the source: nothing to take, at once.
	h := &Pipeline{Source: &fakeSource{format: capture.H264}}
	if _, err := h.Snapshot(context.Background()); !errors.Is(err, ErrNoPicture) || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("H.264 source: %v", err)
	}
	// No frame comes: the context ends the wait.
	p := runPipeline(t, &fakeSource{format: capture.I420, block: true})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Snapshot(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("no frames: %v", err)
	}
	// Odd sizes and short planes are errors, not panics.
	if _, err := copyPicture(&capture.Frame{Format: capture.I420, Width: 3, Height: 2}, nil); !errors.Is(err, ErrBadSize) {
		t.Errorf("odd width: %v", err)
	}
	if _, err := copyPicture(&capture.Frame{Format: capture.NV12, Width: 4, Height: 2, Planes: [][]byte{{1}}}, nil); !errors.Is(err, ErrShortFrame) {
		t.Errorf("short NV12: %v", err)
	}
}

// Many requests at once all get a picture, and share it.
func TestSnapshotConcurrent(t *testing.T) {
	checkGoroutines(t)
	p := runPipeline(t, &rawSource{format: capture.NV12, w: 320, h: 240, y: 100, cb: 100})
	var wg sync.WaitGroup
	seqs := make(chan uint64, 40)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := p.Snapshot(ctx)
			if err != nil || len(s.JPEG) == 0 {
				t.Errorf("Snapshot: %v, %d bytes", err, len(s.JPEG))
			}
			seqs <- s.Seq
		}()
	}
	wg.Wait()
	close(seqs)
	distinct := map[uint64]bool{}
	for s := range seqs {
		distinct[s] = true
	}
	t.Logf("40 requests served from %d frames", len(distinct))
	if len(distinct) > 2 {
		t.Errorf("40 requests at once made %d snapshots; they should share", len(distinct))
	}
}

// patternNV12 is a 1280x720 NV12 frame of the test pattern.
func patternNV12(b *testing.B) *capture.Frame {
	src := capture.NewPattern(capture.PatternOptions{Width: 1280, Height: 720, FPS: 30})
	f := src.Frame(7, time.Now())
	w, h := f.Width, f.Height
	uv := make([]byte, w*h/2)
	for i := range w * h / 4 {
		r, c := i/(w/2), i%(w/2)
		uv[r*w+2*c] = f.Planes[1][r*f.Strides[1]+c]
		uv[r*w+2*c+1] = f.Planes[2][r*f.Strides[2]+c]
	}
	y := make([]byte, w*h)
	copyPlane(y, w, f.Planes[0], f.Strides[0], w, h)
	f.Release()
	return &capture.Frame{Format: capture.NV12, Width: w, Height: h, Planes: [][]byte{y, uv}, Strides: []int{w, w}}
}

// BenchmarkSnapshotTake720p is what a snapshot costs the pipeline: one
// copy of an NV12 frame, on the encoder's goroutine.
func BenchmarkSnapshotTake720p(b *testing.B) {
	f := patternNV12(b)
	var s snapshots
	b.ReportAllocs()
	for b.Loop() {
		sh := s.request()
		s.take(f)
		s.spare = sh.img // as result does once the JPEG is made
	}
}

// BenchmarkSnapshotJPEG720p is the whole snapshot: the copy and the JPEG,
// which the HTTP request's goroutine encodes.
func BenchmarkSnapshotJPEG720p(b *testing.B) {
	f := patternNV12(b)
	var s snapshots
	size := 0
	b.ReportAllocs()
	for b.Loop() {
		sh := s.request()
		s.take(f)
		snap, err := s.result(sh)
		if err != nil {
			b.Fatal(err)
		}
		size = len(snap.JPEG)
	}
	b.ReportMetric(float64(size), "jpeg-bytes")
}

// BenchmarkPipelineNoSnapshot is the per-frame check when nobody asks.
func BenchmarkPipelineNoSnapshot(b *testing.B) {
	var s snapshots
	f := &capture.Frame{}
	for b.Loop() {
		if s.wanted.Load() {
			s.take(f)
		}
	}
}
