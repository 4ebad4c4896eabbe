package capturetest

import (
	"fmt"
	"math"

	"github.com/camd-project/camd/capture"
)

// Compare measures how close two I420 frames of the same size are: the
// PSNR of the luma, and the largest difference between the means of
// co-located 16x16 luma blocks and 8x8 chroma blocks (which a lossy codec
// keeps small, and a wrong plane layout or a shifted picture does not).
func Compare(a, b *capture.Frame) (psnrY float64, maxBlockDiff int, err error) {
	if a.Format != capture.I420 || b.Format != capture.I420 || a.Width != b.Width || a.Height != b.Height {
		return 0, 0, fmt.Errorf("capturetest.Compare: %v %dx%d and %v %dx%d, want I420 frames of one size",
			a.Format, a.Width, a.Height, b.Format, b.Width, b.Height)
	}
	w, h := a.Width, a.Height
	var sse float64
	for y := 0; y < h; y++ {
		ra, rb := a.Planes[0][y*a.Strides[0]:], b.Planes[0][y*b.Strides[0]:]
		for x := 0; x < w; x++ {
			d := float64(ra[x]) - float64(rb[x])
			sse += d * d
		}
	}
	psnrY = math.Inf(1)
	if sse > 0 {
		psnrY = 10 * math.Log10(255*255*float64(w*h)/sse)
	}
	for p, bs := range []int{16, 8, 8} {
		pw, ph := w, h
		if p > 0 {
			pw, ph = (w+1)/2, (h+1)/2
		}
		for by := 0; by+bs <= ph; by += bs {
			for bx := 0; bx+bs <= pw; bx += bs {
				d := blockMean(a, p, bx, by, bs) - blockMean(b, p, bx, by, bs)
				maxBlockDiff = max(maxBlockDiff, d, -d)
			}
		}
	}
	return psnrY, maxBlockDiff, nil
}

func blockMean(f *capture.Frame, p, x0, y0, n int) int {
	sum := 0
	for y := y0; y < y0+n; y++ {
		row := f.Planes[p][y*f.Strides[p]:]
		for x := x0; x < x0+n; x++ {
			sum += int(row[x])
		}
	}
	return (sum + n*n/2) / (n * n)
}
