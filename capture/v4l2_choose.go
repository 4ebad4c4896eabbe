package capture

import (
	"fmt"
	"math"

	"github.com/camd-project/camd/hw/v4l2"
)

// candidate is a format at a size and frame interval the camera offers.
type candidate struct {
	format        Format
	width, height int
	interval      v4l2.Fract // zero when the camera lists none
}

func (c candidate) fps() float64 { return c.interval.FPS() }

// chooseFormat picks the format, size and rate closest to opts: first the
// size (exact, else the nearest), then a rate that reaches the wanted one,
// then the format in the order of usable (H.264 passes through, raw
// formats encode, MJPEG costs a decode).
func chooseFormat(dev *v4l2.Device, opts V4L2Options) (candidate, error) {
	descs, err := dev.Formats(dev.Capability().CaptureType())
	if err != nil {
		return candidate{}, err
	}
	var cands []candidate
	var offered []string
	for _, d := range descs {
		f := Format(d.PixelFormat)
		offered = append(offered, f.String())
		if formatRank(f) < 0 || opts.Format != 0 && f != opts.Format {
			continue
		}
		w, h := opts.Width, opts.Height
		sizes, err := dev.FrameSizes(d.PixelFormat)
		if err != nil {
			return candidate{}, err
		}
		if len(sizes) > 0 {
			w, h = nearestSize(sizes, opts.Width, opts.Height)
		}
		ivs, err := dev.FrameIntervals(d.PixelFormat, w, h)
		if err != nil {
			return candidate{}, err
		}
		cands = append(cands, candidate{format: f, width: w, height: h, interval: nearestInterval(ivs, opts.FPS)})
	}
	if len(cands) == 0 {
		want := "H264, NV12, YU12, YUYV or MJPG"
		if opts.Format != 0 {
			want = opts.Format.String()
		}
		return candidate{}, fmt.Errorf("the camera offers %v, camd wants %s: %w", offered, want, ErrNoCamera)
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if better(c, best, opts) {
			best = c
		}
	}
	return best, nil
}

// better orders candidates: size distance, then rate shortfall, then
// format preference.
func better(a, b candidate, opts V4L2Options) bool {
	da, db := sizeDistance(a, opts), sizeDistance(b, opts)
	if da != db {
		return da < db
	}
	sa, sb := rateShortfall(a, opts), rateShortfall(b, opts)
	if math.Abs(sa-sb) > 0.5 {
		return sa < sb
	}
	return formatRank(a.format) < formatRank(b.format)
}

func sizeDistance(c candidate, opts V4L2Options) int {
	return abs(c.width-opts.Width) + abs(c.height-opts.Height)
}

// rateShortfall is how many frames per second short of the wanted rate
// a candidate falls (0 when it reaches it, or lists no rates).
func rateShortfall(c candidate, opts V4L2Options) float64 {
	if c.interval.Den == 0 {
		return 0
	}
	return math.Max(0, opts.FPS-c.fps())
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// nearestSize returns the offered size closest to w×h: an exact match,
// else the smallest one at least as large, else the largest; ranges are
// clamped and stepped.
func nearestSize(sizes []v4l2.FrameSize, w, h int) (int, int) {
	if s := sizes[0]; s.Type != v4l2.FrmSizeDiscrete {
		return stepClamp(w, s.MinWidth, s.MaxWidth, s.StepWidth), stepClamp(h, s.MinHeight, s.MaxHeight, s.StepHeight)
	}
	bw, bh, found := 0, 0, false
	for _, s := range sizes {
		sw, sh := s.MinWidth, s.MinHeight
		if sw == w && sh == h {
			return w, h
		}
		if sw >= w && sh >= h && (!found || sw*sh < bw*bh) {
			bw, bh, found = sw, sh, true
		}
	}
	if found {
		return bw, bh
	}
	for _, s := range sizes {
		if s.MinWidth*s.MinHeight > bw*bh {
			bw, bh = s.MinWidth, s.MinHeight
		}
	}
	return bw, bh
}

func stepClamp(v, lo, hi, step int) int {
	v = max(lo, min(v, hi))
	if step > 1 {
		v = lo + (v-lo)/step*step
	}
	return v
}

// nearestInterval returns the offered interval whose rate is closest to
// fps, preferring rates at least as high; zero when none are listed.
func nearestInterval(ivs []v4l2.FrameInterval, fps float64) v4l2.Fract {
	var best v4l2.Fract
	bestScore := math.Inf(1)
	for _, iv := range ivs {
		if iv.Type != v4l2.FrmSizeDiscrete {
			// A range: ask for the wanted rate, clamped.
			lo, hi := iv.Max.FPS(), iv.Min.FPS()
			r := math.Max(lo, math.Min(fps, hi))
			return v4l2.Fract{Num: 1000, Den: uint32(math.Round(r * 1000))}
		}
		r := iv.Min.FPS()
		score := math.Abs(r - fps)
		if r < fps-0.01 {
			score += 1000 // short of the wanted rate: only if nothing reaches it
		}
		if score < bestScore {
			best, bestScore = iv.Min, score
		}
	}
	return best
}
