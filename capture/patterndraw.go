package capture

import (
	"image"
	"time"
)

// patternLayout places the pattern's parts for one frame size.
type patternLayout struct {
	w, h   int
	barsH  int // colour bars above, grey ramp below
	box    int // side of the bouncing box
	sweepW int // width of the sweeping bar
	step   int // sweep speed, pixels per frame
	scale  int // pixel size of the digits' 3x5 font
	text   image.Rectangle
}

func newPatternLayout(w, h int) patternLayout {
	l := patternLayout{w: w, h: h}
	l.barsH = h * 2 / 3 &^ 1
	l.box = max(4, h/10) &^ 1
	l.sweepW = max(2, w/160) &^ 1
	l.step = max(1, w/120)
	l.scale = max(1, h/120)
	s := l.scale
	// Two lines of up to 12 characters (4s apart) and a progress bar, with
	// a margin of s; the text is left out if the ramp cannot hold it.
	text := image.Rect(2*s, l.barsH+2*s, 2*s+12*4*s+s, l.barsH+2*s+15*s)
	if text.Max.X <= w && text.Max.Y <= h {
		l.text = text
	}
	return l
}

// 75% colour bars in BT.601 video range: white, yellow, cyan, green,
// magenta, red, blue.
var bars = [7][3]byte{
	{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58},
	{84, 184, 198}, {65, 100, 212}, {35, 212, 114},
}

func (p *Pattern) drawBackground() {
	l := p.layout
	y, u, v := p.bg[0], p.bg[1], p.bg[2]
	for row := range l.h {
		line := y[row*p.strides[0] : row*p.strides[0]+l.w]
		for x := range line {
			if row < l.barsH {
				line[x] = bars[x*7/l.w][0]
			} else {
				line[x] = byte(16 + x*219/max(1, l.w-1))
			}
		}
	}
	cw, ch := p.strides[1], len(u)/p.strides[1]
	for row := range ch {
		for x := range cw {
			i := row*cw + x
			u[i], v[i] = 128, 128
			if 2*row < l.barsH {
				b := bars[min(6, 2*x*7/l.w)]
				u[i], v[i] = b[1], b[2]
			}
		}
	}
}

// triangle folds pos into 0..span and back, for bouncing.
func triangle(pos uint64, span int) int {
	if span <= 0 {
		return 0
	}
	m := int(pos % uint64(2*span))
	if m > span {
		m = 2*span - m
	}
	return m
}

func (p *Pattern) drawMoving(f *Frame, seq uint64, t time.Time) {
	l := p.layout
	// A box bouncing over the bars, its colour cycling every 64 frames.
	bx := triangle(seq*uint64(max(1, l.w/100)), l.w-l.box) &^ 1
	by := triangle(seq*uint64(max(1, l.barsH/70)), l.barsH-l.box) &^ 1
	c := bars[(seq/64)%7]
	fillRect(f, image.Rect(bx, by, bx+l.box, by+l.box), 235, c[1], c[2])
	// A bar sweeping across the ramp.
	sx := int(seq*uint64(l.step)%uint64(max(1, l.w-l.sweepW))) &^ 1
	fillRect(f, image.Rect(sx, l.barsH, sx+l.sweepW, l.h), 235, 128, 128)
	if l.text.Empty() {
		return
	}
	// The capture time (UTC) and frame number, and a bar that fills once a
	// second.
	fillRect(f, l.text, 16, 128, 128)
	s := l.scale
	var line [12]byte
	hh, mm, ss := t.UTC().Clock()
	ms := t.Nanosecond() / 1e6
	put2 := func(i, v int) { line[i], line[i+1] = byte('0'+v/10), byte('0'+v%10) }
	put2(0, hh)
	line[2] = ':'
	put2(3, mm)
	line[5] = ':'
	put2(6, ss)
	line[8] = '.'
	line[9], line[10], line[11] = byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10)
	x0, y0 := l.text.Min.X+s, l.text.Min.Y+s
	drawText(f, x0, y0, s, line[:])
	n := seq
	for i := 11; i >= 0; i-- {
		line[i] = byte('0' + n%10)
		n /= 10
	}
	drawText(f, x0, y0+6*s, s, line[:])
	full := l.text.Dx() - 2*s
	fillRect(f, image.Rect(x0, y0+12*s, x0+full*ms/1000, y0+13*s), 235, 128, 128)
}

// font is a 3x5 pixel font: 15 bits, top row first, left pixel highest.
var font = [256]uint16{
	'0': 0b111_101_101_101_111, '1': 0b010_110_010_010_111,
	'2': 0b111_001_111_100_111, '3': 0b111_001_111_001_111,
	'4': 0b101_101_111_001_001, '5': 0b111_100_111_001_111,
	'6': 0b111_100_111_101_111, '7': 0b111_001_001_001_001,
	'8': 0b111_101_111_101_111, '9': 0b111_101_111_001_111,
	':': 0b000_010_000_010_000, '.': 0b000_000_000_000_010,
}

// drawText draws white characters with pixels of s x s, 4s apart, from
// (x, y). Only luma changes: the text sits on a neutral backing.
func drawText(f *Frame, x, y, s int, text []byte) {
	for i, c := range text {
		g := font[c]
		for bit := range 15 {
			if g&(1<<(14-bit)) == 0 {
				continue
			}
			px, py := x+i*4*s+bit%3*s, y+bit/3*s
			fillLuma(f, image.Rect(px, py, px+s, py+s), 235)
		}
	}
}

// fillRect paints r (clipped to the frame) with one colour.
func fillRect(f *Frame, r image.Rectangle, y, u, v byte) {
	fillLuma(f, r, y)
	r = r.Intersect(image.Rect(0, 0, f.Width, f.Height))
	if r.Empty() {
		return
	}
	c := image.Rect(r.Min.X/2, r.Min.Y/2, (r.Max.X+1)/2, (r.Max.Y+1)/2)
	fill(f.Planes[1], f.Strides[1], c, u)
	fill(f.Planes[2], f.Strides[2], c, v)
}

func fillLuma(f *Frame, r image.Rectangle, y byte) {
	fill(f.Planes[0], f.Strides[0], r.Intersect(image.Rect(0, 0, f.Width, f.Height)), y)
}

func fill(p []byte, stride int, r image.Rectangle, v byte) {
	for row := r.Min.Y; row < r.Max.Y; row++ {
		line := p[row*stride+r.Min.X : row*stride+r.Max.X]
		for i := range line {
			line[i] = v
		}
	}
}
