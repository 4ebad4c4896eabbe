package encode

import (
	"context"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/hw/v4l2"
	"github.com/camd-project/camd/hw/v4l2/v4l2test"
)

// repeatVicodec720 replays rec-vicodec-720 (vicodec, NV12 1280x720 in,
// FWHT out) with frames 1 and 2 repeated for ever: an encoder that takes
// no time, so that what is measured is camd's side of encoding.
func repeatVicodec720(tb testing.TB) (*M2M, *v4l2test.Player) {
	tb.Helper()
	ex, err := v4l2test.ReadFile("testdata/m2m-vicodec-720.json.gz")
	if err != nil {
		tb.Fatal(err)
	}
	p, err := v4l2test.Playback(ex)
	if err != nil {
		tb.Skip(err)
	}
	capType := uint32(v4l2.BufTypeVideoCapture)
	on := ex.Find(0, ex.Find(0, 0, "VIDIOC_STREAMON", 0)+1, "VIDIOC_STREAMON", 0)
	end0 := ex.Find(0, on+1, "VIDIOC_QBUF", capType) // each frame ends requeueing its picture's buffer
	end2 := ex.Find(0, ex.Find(0, end0+1, "VIDIOC_QBUF", capType)+1, "VIDIOC_QBUF", capType)
	if on < 0 || end0 < 0 || end2 < 0 {
		tb.Fatal("no steady state in the recording")
	}
	var cycle []int
	for k := end0 + 1; k <= end2; k++ {
		cycle = append(cycle, k)
	}
	if err := p.Repeat(0, end0+1, cycle); err != nil {
		tb.Fatal(err)
	}
	e, err := NewM2M(Options{Width: 1280, Height: 720, FPS: 30, GOP: time.Second / 3, Bitrate: 2_000_000},
		capture.Info{Format: capture.NV12, Width: 1280, Height: 720, FPS: 30},
		// rec-vicodec-720 was recorded copying: a replayed camera's frames
		// (BenchmarkCaptureToEncode720p) must not switch it to DMABUF.
		M2MOptions{Device: "/dev/video4", CodedFormat: v4l2.PixFWHT, Open: p.Open, CopyFrames: true})
	if err != nil {
		tb.Fatal(err)
	}
	return e, p
}

// TestM2MEncodeDoesNotAllocate: in steady state encoding a frame
// allocates nothing.
func TestM2MEncodeDoesNotAllocate(t *testing.T) {
	e, _ := repeatVicodec720(t)
	f := nv12Frame(1280, 720, 0)
	const warm, frames = 10, 200
	var before, after runtime.MemStats
	for i := 0; i < warm+frames; i++ {
		if i == warm {
			runtime.ReadMemStats(&before)
		}
		f.Seq = uint64(i)
		if _, ok, err := e.Encode(f); err != nil || !ok {
			t.Fatalf("frame %d: ok %v, %v", i, ok, err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n > frames/20 {
		t.Errorf("%d allocations over %d frames, want none", n, frames)
	}
}

// BenchmarkM2MEncode720p measures camd's side of hardware-encoding an
// NV12 1280x720 frame: copying it into the encoder's buffer at its
// stride, QBUF, poll, DQBUF, the picture's copy and header check.
func BenchmarkM2MEncode720p(b *testing.B) {
	e, _ := repeatVicodec720(b)
	f := nv12Frame(1280, 720, 0)
	b.ReportAllocs()
	b.SetBytes(int64(1280 * 720 * 3 / 2))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.Seq = uint64(i)
		if _, _, err := e.Encode(f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCaptureToEncode720p runs the V4L2 camera source (vivid's HDMI
// input, NV12 1280x720, replayed) into the hardware encoder (vicodec,
// replayed), both without device time, and reports the latency camd adds
// per frame, from the source handing the frame on to the encoded picture:
// everything but the encoder's own time. The Pipeline's queue hand-off
// between two goroutines comes on top (capture.BenchmarkQueue measures
// it).
func BenchmarkCaptureToEncode720p(b *testing.B) {
	e, _ := repeatVicodec720(b)
	ex, err := v4l2test.ReadFile("../capture/testdata/v4l2-vivid-720.json.gz")
	if err != nil {
		b.Fatal(err)
	}
	p, err := v4l2test.Playback(ex)
	if err != nil {
		b.Skip(err)
	}
	if err := p.RepeatFrames(1); err != nil { // vivid at 720p, endless
		b.Fatal(err)
	}
	src, err := capture.NewV4L2(capture.V4L2Options{Device: "/dev/video0", Input: "3", Width: 1280, Height: 720, FPS: 30,
		Format: capture.NV12, Open: p.Open})
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	b.ResetTimer()
	err = src.Run(ctx, func(f *capture.Frame) {
		t0 := time.Now()
		_, _, err := e.Encode(f)
		f.Release()
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Error(err)
		}
		if len(lat) == b.N {
			cancel()
		}
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
