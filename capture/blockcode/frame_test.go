package blockcode

import (
	"math/rand/v2"
)

// frame is an I420 picture for tests.
type frame struct {
	w, h    int
	planes  [][]byte
	strides []int
}

// newFrame returns a frame with padded strides, filled with noise so that
// the code has a busy background.
func newFrame(w, h int, rng *rand.Rand) *frame {
	cw, ch := (w+1)/2, (h+1)/2
	f := &frame{w: w, h: h, strides: []int{w + 32, cw + 16, cw + 16}}
	f.planes = [][]byte{make([]byte, f.strides[0]*h), make([]byte, f.strides[1]*ch), make([]byte, f.strides[2]*ch)}
	for _, p := range f.planes {
		for i := range p {
			p[i] = byte(rng.IntN(256))
		}
	}
	return f
}

func (f *frame) draw(c Code) { DrawI420(f.planes, f.strides, f.w, f.h, c) }

func (f *frame) read() (Code, error) { return Read(f.planes[0], f.strides[0], f.w, f.h) }

// luma returns the Y plane as a tight w*h slice.
func (f *frame) luma() []byte {
	out := make([]byte, f.w*f.h)
	for y := range f.h {
		copy(out[y*f.w:], f.planes[0][y*f.strides[0]:y*f.strides[0]+f.w])
	}
	return out
}

func (f *frame) setLuma(l []byte) {
	for y := range f.h {
		copy(f.planes[0][y*f.strides[0]:y*f.strides[0]+f.w], l[y*f.w:(y+1)*f.w])
	}
}

func clamp(v int) byte {
	return byte(min(255, max(0, v)))
}

// rescale shrinks the luma by factor with a box filter and blows it back up
// with bilinear interpolation, as a low-bitrate encoder's loss of detail
// roughly does.
func (f *frame) rescale(factor int) {
	l := f.luma()
	sw, sh := f.w/factor, f.h/factor
	small := make([]int, sw*sh)
	for y := range sh {
		for x := range sw {
			s := 0
			for dy := range factor {
				for dx := range factor {
					s += int(l[(y*factor+dy)*f.w+x*factor+dx])
				}
			}
			small[y*sw+x] = s / (factor * factor)
		}
	}
	at := func(x, y int) int { return small[min(sh-1, max(0, y))*sw+min(sw-1, max(0, x))] }
	for y := range f.h {
		for x := range f.w {
			// Sample centres sit at (i+0.5)*factor; work in 1/factor steps.
			fx, fy := 2*x+1-factor, 2*y+1-factor
			x0, y0 := floorDiv(fx, 2*factor), floorDiv(fy, 2*factor)
			ax, ay := fx-x0*2*factor, fy-y0*2*factor
			n := 2 * factor
			top := at(x0, y0)*(n-ax) + at(x0+1, y0)*ax
			bot := at(x0, y0+1)*(n-ax) + at(x0+1, y0+1)*ax
			l[y*f.w+x] = clamp((top*(n-ay) + bot*ay) / (n * n))
		}
	}
	f.setLuma(l)
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// noise adds uniform noise of ±amp to every luma sample.
func (f *frame) noise(amp int, rng *rand.Rand) {
	l := f.luma()
	for i, v := range l {
		l[i] = clamp(int(v) + rng.IntN(2*amp+1) - amp)
	}
	f.setLuma(l)
}

// quantise rounds every luma sample to a multiple of step.
func (f *frame) quantise(step int) {
	l := f.luma()
	for i, v := range l {
		l[i] = clamp((int(v) + step/2) / step * step)
	}
	f.setLuma(l)
}

// levels maps luma v to v*num/den+off, as a change of exposure would.
func (f *frame) levels(num, den, off int) {
	l := f.luma()
	for i, v := range l {
		l[i] = clamp(int(v)*num/den + off)
	}
	f.setLuma(l)
}

// setCell paints cell (col,row) of the code in a frame of f's size.
func (f *frame) setCell(col, row int, v byte) {
	cs := CellSize(f.w, f.h)
	for y := Margin + row*cs; y < Margin+(row+1)*cs; y++ {
		for x := Margin + col*cs; x < Margin+(col+1)*cs; x++ {
			f.planes[0][y*f.strides[0]+x] = v
		}
	}
}

func (f *frame) cell(col, row int) byte {
	cs := CellSize(f.w, f.h)
	return f.planes[0][(Margin+row*cs+cs/2)*f.strides[0]+Margin+col*cs+cs/2]
}

// copyCell copies cell (col,row) from g.
func (f *frame) copyCell(g *frame, col, row int) {
	cs := CellSize(f.w, f.h)
	for y := Margin + row*cs; y < Margin+(row+1)*cs; y++ {
		o := y*f.strides[0] + Margin + col*cs
		copy(f.planes[0][o:o+cs], g.planes[0][o:o+cs])
	}
}
