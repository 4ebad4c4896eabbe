package encode

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/h264"
)

func needSoftware(tb testing.TB) {
	tb.Helper()
	if !SoftwareBuiltIn() {
		if os.Getenv("CI") != "" {
			tb.Fatal("CI builds must include openh264 (cgo on amd64, arm64 or armv7)")
		}
		tb.Skip("openh264 is not built in (needs cgo on amd64, arm64 or armv7)")
	}
}

func newTestOpenH264(tb testing.TB, opts Options) Encoder {
	tb.Helper()
	e, err := newOpenH264(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Error(err)
		}
	})
	return e
}

// frameSource draws pattern frames on demand, 1/fps apart.
type frameSource struct {
	p     *capture.Pattern
	t0    time.Time
	fps   float64
	grain byte // 0: none
}

func newFrameSource(w, h int, grain byte) *frameSource {
	return &frameSource{p: capture.NewPattern(capture.PatternOptions{Width: w, Height: h}), t0: time.Now(), fps: 30, grain: grain}
}

func (s *frameSource) frame(seq uint64) *capture.Frame {
	f := s.p.Frame(seq, s.t0.Add(time.Duration(float64(seq)/s.fps*float64(time.Second))))
	if s.grain > 0 {
		addGrain(f, s.grain)
	}
	return f
}

// encoded is an access unit with its own copy of the data.
type encoded struct {
	AccessUnit
	types []h264.NALType
}

// encodeRange encodes frames [from, to) and returns the access units that
// came out, calling before(seq) ahead of each frame when it is set.
func encodeRange(tb testing.TB, e Encoder, s *frameSource, from, to uint64, before func(uint64)) []encoded {
	tb.Helper()
	var out []encoded
	for seq := from; seq < to; seq++ {
		if before != nil {
			before(seq)
		}
		f := s.frame(seq)
		au, ok, err := e.Encode(f)
		f.Release()
		if err != nil {
			tb.Fatalf("Encode(frame %d): %v", seq, err)
		}
		if ok {
			au.Data = bytes.Clone(au.Data)
			out = append(out, encoded{au, nalTypes(au.Data)})
		}
	}
	return out
}

func TestOpenH264Stream(t *testing.T) {
	needSoftware(t)
	e := newTestOpenH264(t, Options{Width: 1280, Height: 720, FPS: 30, GOP: time.Second})
	src := newFrameSource(1280, 720, 0)
	const forceAt = 45
	aus := encodeRange(t, e, src, 0, 100, func(seq uint64) {
		if seq == forceAt {
			e.ForceKeyframe()
		}
	})
	if len(aus) == 0 || !aus[0].Keyframe || aus[0].Seq != 0 {
		t.Fatalf("first access unit is not a keyframe from frame 0")
	}
	var keys []uint64
	for _, au := range aus {
		idr := h264.Contains(au.Data, h264.TypeIDR)
		if idr != au.Keyframe {
			t.Errorf("frame %d: Keyframe=%v but the bitstream has IDR=%v", au.Seq, au.Keyframe, idr)
		}
		if !idr {
			continue
		}
		keys = append(keys, au.Seq)
		// SPS, then PPS, then the IDR slices.
		if len(au.types) < 3 || au.types[0] != h264.TypeSPS || au.types[1] != h264.TypePPS || au.types[2] != h264.TypeIDR {
			t.Errorf("keyframe %d: NAL units %v, want SPS, PPS, IDR...", au.Seq, au.types)
		}
		sps, err := h264.ParseSPS(h264.SplitNALs(au.Data)[0])
		if err != nil {
			t.Fatalf("keyframe %d: ParseSPS: %v", au.Seq, err)
		}
		if !sps.IsConstrainedBaseline() || sps.LevelIDC > 31 || sps.Width != 1280 || sps.Height != 720 {
			t.Errorf("keyframe %d: profile-level-id %s, %dx%d; want constrained baseline, level <= 3.1, 1280x720",
				au.Seq, sps.ProfileLevelID(), sps.Width, sps.Height)
		}
		if au.Seq == 0 {
			t.Logf("720p30 profile-level-id %s", sps.ProfileLevelID())
		}
	}
	t.Logf("%d access units from 100 frames, keyframes at %v", len(aus), keys)
	// Periodic keyframes every 30 frames, and the forced one within two
	// frames of the request.
	for _, want := range [][2]uint64{{0, 0}, {30, 31}, {forceAt, forceAt + 1}} {
		found := false
		for _, k := range keys {
			found = found || (k >= want[0] && k <= want[1])
		}
		if !found {
			t.Errorf("no keyframe in frames %d..%d (keyframes at %v)", want[0], want[1], keys)
		}
	}
}

// bitrate returns the bit rate of the access units of frames [from, to),
// at 30 frames per second.
func bitrate(aus []encoded, from, to uint64) float64 {
	n := 0
	for _, au := range aus {
		if au.Seq >= from && au.Seq < to {
			n += len(au.Data)
		}
	}
	return float64(n) * 8 / (float64(to-from) / 30)
}

func TestOpenH264SetBitrate(t *testing.T) {
	needSoftware(t)
	// A long GOP keeps periodic IDRs out of the measured windows.
	e := newTestOpenH264(t, Options{Width: 640, Height: 480, FPS: 30, Bitrate: 2_000_000, GOP: time.Minute})
	src := newFrameSource(640, 480, 16)
	aus := encodeRange(t, e, src, 0, 210, func(seq uint64) {
		if seq == 90 {
			if err := e.SetBitrate(300_000); err != nil {
				t.Fatal(err)
			}
		}
	})
	high, low := bitrate(aus, 30, 90), bitrate(aus, 150, 210)
	t.Logf("2 Mbit/s target: %.0f kbit/s; 300 kbit/s target: %.0f kbit/s (2 s of frames each)", high/1000, low/1000)
	if high < 1_000_000 || high > 3_000_000 {
		t.Errorf("at 2 Mbit/s the encoder made %.0f kbit/s, want 1000..3000", high/1000)
	}
	if low > 450_000 || low > high/3 {
		t.Errorf("after SetBitrate(300000) the encoder made %.0f kbit/s, want at most 450", low/1000)
	}
}

// A bitrate beyond the level's limit would make openh264 raise the level
// and restart with an IDR; SetBitrate holds it below.
func TestOpenH264HoldsLevel(t *testing.T) {
	needSoftware(t)
	e := newTestOpenH264(t, Options{Width: 640, Height: 480, FPS: 30, Bitrate: 1_000_000, GOP: time.Minute})
	aus := encodeRange(t, e, newFrameSource(640, 480, 16), 0, 30, func(seq uint64) {
		switch seq {
		case 10:
			_ = e.SetBitrate(100_000_000)
		case 20:
			_ = e.SetBitrate(1) // clamped to 50 kbit/s
		}
	})
	for _, au := range aus {
		if au.Seq > 0 && au.Keyframe {
			t.Errorf("keyframe at frame %d after a bitrate change", au.Seq)
		}
		for _, nal := range h264.SplitNALs(au.Data) {
			if h264.TypeOf(nal) != h264.TypeSPS {
				continue
			}
			if sps, err := h264.ParseSPS(nal); err != nil || sps.ProfileLevelID() != "42c01e" {
				t.Errorf("frame %d: SPS %s (%v), want 42c01e", au.Seq, sps.ProfileLevelID(), err)
			}
		}
	}
}

func TestOpenH264Formats(t *testing.T) {
	needSoftware(t)
	const w, h = 320, 240
	src := newFrameSource(w, h, 0)
	for _, format := range []capture.Format{capture.NV12, capture.YUYV} {
		e := newTestOpenH264(t, Options{Width: w, Height: h})
		for seq := range uint64(5) {
			f := src.frame(seq)
			g := fromI420(f, format)
			f.Release()
			au, ok, err := e.Encode(g)
			if err != nil {
				t.Fatalf("%v frame %d: %v", format, seq, err)
			}
			if seq == 0 && (!ok || !au.Keyframe) {
				t.Errorf("%v: first frame gave no keyframe", format)
			}
		}
	}
}

// fromI420 repacks an I420 frame as NV12 or YUYV (chroma repeated on both
// rows).
func fromI420(f *capture.Frame, format capture.Format) *capture.Frame {
	w, h := f.Width, f.Height
	y, u, v := f.Planes[0], f.Planes[1], f.Planes[2]
	ys, cs := f.Strides[0], f.Strides[1]
	g := &capture.Frame{Format: format, Width: w, Height: h, Seq: f.Seq, Time: f.Time}
	switch format {
	case capture.NV12:
		luma, uv := make([]byte, w*h), make([]byte, w*h/2)
		copyPlane(luma, w, y, ys, w, h)
		for r := range h / 2 {
			for c := range w / 2 {
				uv[r*w+2*c], uv[r*w+2*c+1] = u[r*cs+c], v[r*cs+c]
			}
		}
		g.Planes, g.Strides = [][]byte{luma, uv}, []int{w, w}
	case capture.YUYV:
		p := make([]byte, 2*w*h)
		for r := range h {
			for c := 0; c < w; c += 2 {
				o := r*2*w + 2*c
				p[o], p[o+1], p[o+2], p[o+3] = y[r*ys+c], u[r/2*cs+c/2], y[r*ys+c+1], v[r/2*cs+c/2]
			}
		}
		g.Planes, g.Strides = [][]byte{p}, []int{2 * w}
	}
	return g
}

func TestOpenH264Errors(t *testing.T) {
	needSoftware(t)
	e, err := newOpenH264(Options{Width: 320, Height: 240})
	if err != nil {
		t.Fatal(err)
	}
	src := newFrameSource(640, 480, 0)
	f := src.frame(0)
	defer f.Release()
	if _, _, err := e.Encode(f); !errors.Is(err, ErrBadSize) {
		t.Errorf("640x480 frame into a 320x240 encoder: err = %v, want ErrBadSize", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := e.Encode(f); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close: err = %v, want ErrClosed", err)
	}
}

// Bitrate and keyframe requests come from viewers' goroutines while the
// pipeline encodes; run with -race.
func TestOpenH264ConcurrentControl(t *testing.T) {
	needSoftware(t)
	e := newTestOpenH264(t, Options{Width: 320, Height: 240})
	src := newFrameSource(320, 240, 8)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = e.SetBitrate(100_000 + i%10*100_000)
			if i%5 == 0 {
				e.ForceKeyframe()
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	aus := encodeRange(t, e, src, 0, 60, nil)
	close(stop)
	wg.Wait()
	if len(aus) == 0 {
		t.Fatal("no access units")
	}
}

func BenchmarkOpenH264Encode720p(b *testing.B) {
	needSoftware(b)
	for _, bc := range []struct {
		name  string
		grain byte
	}{{"pattern", 0}, {"grain", 24}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newTestOpenH264(b, Options{Width: 1280, Height: 720, FPS: 30, GOP: 2 * time.Second})
			src := newFrameSource(1280, 720, bc.grain)
			var frames []*capture.Frame
			for seq := range uint64(60) {
				frames = append(frames, src.frame(seq))
			}
			b.ReportAllocs()
			var n, bytes int
			for b.Loop() {
				au, _, err := e.Encode(frames[n%len(frames)])
				if err != nil {
					b.Fatal(err)
				}
				n++
				bytes += len(au.Data)
			}
			b.ReportMetric(float64(bytes)*8/(float64(n)/30)/1000, "kbit/s")
		})
	}
}
