package nettest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// mark is a labelled moment on the chart (a link change).
type mark struct {
	T     float64
	Label string
}

// plot maps data onto an image: x in seconds, y in bits per second.
type plot struct {
	img            *image.RGBA
	x0, y0, x1, y1 int // the plot area in pixels
	tMax, yMax     float64
}

func (p *plot) px(t float64) int { return p.x0 + int(t/p.tMax*float64(p.x1-p.x0)) }
func (p *plot) py(v float64) int { return p.y1 - int(v/p.yMax*float64(p.y1-p.y0)) }

// dot paints a w×w square centred on x, y, clipped to the plot area.
func (p *plot) dot(x, y, w int, c color.Color) {
	for dy := -w / 2; dy < w-w/2; dy++ {
		for dx := -w / 2; dx < w-w/2; dx++ {
			if (image.Point{x + dx, y + dy}).In(image.Rect(p.x0, p.y0, p.x1+1, p.y1+1)) {
				p.img.Set(x+dx, y+dy, c)
			}
		}
	}
}

// line draws from a to b (Bresenham); dash > 0 leaves gaps every dash px.
func (p *plot) line(a, b image.Point, w int, c color.Color, dash int) {
	dx, dy := abs(b.X-a.X), -abs(b.Y-a.Y)
	sx, sy := sign(b.X-a.X), sign(b.Y-a.Y)
	err, n := dx+dy, 0
	for {
		if dash == 0 || (n/dash)%2 == 0 {
			p.dot(a.X, a.Y, w, c)
		}
		n++
		if a == b {
			return
		}
		if e2 := 2 * err; e2 >= dy {
			err += dy
			a.X += sx
		} else {
			err += dx
			a.Y += sy
		}
	}
}

func abs(v int) int { return max(v, -v) }
func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// series draws one curve; step draws it as a staircase (link rates).
func (p *plot) series(ts, vs []float64, w int, c color.Color, dash int, step bool) {
	for i := 1; i < len(ts); i++ {
		a := image.Pt(p.px(ts[i-1]), p.py(vs[i-1]))
		b := image.Pt(p.px(ts[i]), p.py(vs[i]))
		if step {
			mid := image.Pt(b.X, a.Y)
			p.line(a, mid, w, c, dash)
			p.line(mid, b, w, c, dash)
			continue
		}
		p.line(a, b, w, c, dash)
	}
}

func text(img *image.RGBA, x, y int, c color.Color, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

var (
	colLink   = [2]color.RGBA{{190, 190, 190, 255}, {120, 120, 120, 255}}
	colTarget = color.RGBA{0, 0, 0, 255}
	colEst    = [2]color.RGBA{{30, 90, 220, 255}, {20, 150, 60, 255}}
	colRx     = [2]color.RGBA{{140, 180, 250, 255}, {130, 210, 150, 255}}
)

// chart draws the link rates, the encoder target, and each viewer's
// estimate and received rate over time, as a PNG.
func chart(title string, rows []row, rx [][2]float64, marks []mark) ([]byte, error) {
	const w, h = 1200, 640
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	p := &plot{img: img, x0: 70, y0: 40, x1: w - 20, y1: h - 50, tMax: 1, yMax: 12e6}
	for i, x := range rows {
		p.tMax = math.Max(p.tMax, x.T)
		for v := range 2 {
			p.yMax = math.Max(p.yMax, math.Max(float64(x.Link[v]), math.Max(float64(x.Est[v]), rx[i][v]))*1.05)
		}
		p.yMax = math.Max(p.yMax, float64(x.Target)*1.05)
	}
	p.yMax = math.Ceil(p.yMax/2e6) * 2e6
	grid := color.RGBA{230, 230, 230, 255}
	for v := 0.0; v <= p.yMax; v += 2e6 {
		p.line(image.Pt(p.x0, p.py(v)), image.Pt(p.x1, p.py(v)), 1, grid, 0)
		text(img, 8, p.py(v)+4, colTarget, fmt.Sprintf("%2.0f Mbit/s", v/1e6))
	}
	for t := 0.0; t <= p.tMax; t += 5 {
		p.line(image.Pt(p.px(t), p.y0), image.Pt(p.px(t), p.y1), 1, grid, 0)
		text(img, p.px(t)-8, p.y1+16, colTarget, fmt.Sprintf("%.0f s", t))
	}
	for _, m := range marks {
		p.line(image.Pt(p.px(m.T), p.y0), image.Pt(p.px(m.T), p.y1), 1, color.RGBA{220, 80, 80, 255}, 4)
		text(img, p.px(m.T)+4, p.y0+14, color.RGBA{200, 40, 40, 255}, m.Label)
	}
	ts := make([]float64, len(rows))
	col := func(f func(i int) float64) []float64 {
		out := make([]float64, len(rows))
		for i := range rows {
			out[i] = f(i)
		}
		return out
	}
	for i, x := range rows {
		ts[i] = x.T
	}
	for v := range 2 {
		link := col(func(i int) float64 {
			if rows[i].Link[v] == 0 {
				return math.NaN()
			}
			return float64(rows[i].Link[v])
		})
		p.seriesNaN(ts, link, 4-2*v, colLink[v], 6*v, true)
	}
	for v := range 2 {
		p.series(ts, col(func(i int) float64 { return rx[i][v] }), 1, colRx[v], 0, false)
	}
	for v := range 2 {
		p.series(ts, col(func(i int) float64 { return float64(rows[i].Est[v]) }), 2, colEst[v], 0, false)
	}
	p.series(ts, col(func(i int) float64 { return float64(rows[i].Target) }), 3, colTarget, 0, true)
	p.line(image.Pt(p.x0, p.y0), image.Pt(p.x0, p.y1), 1, colTarget, 0)
	p.line(image.Pt(p.x0, p.y1), image.Pt(p.x1, p.y1), 1, colTarget, 0)
	text(img, p.x0, 24, colTarget, title)
	legend := []struct {
		c    color.Color
		name string
	}{
		{colTarget, "encoder target"},
		{colLink[0], "link to " + viewers[0]}, {colLink[1], "link to " + viewers[1]},
		{colEst[0], "estimate " + viewers[0]}, {colEst[1], "estimate " + viewers[1]},
		{colRx[0], "received " + viewers[0]}, {colRx[1], "received " + viewers[1]},
	}
	lx, ly := p.x1-190, p.y0+30
	draw.Draw(img, image.Rect(lx-8, ly-14, p.x1-4, ly+len(legend)*16), image.White, image.Point{}, draw.Src)
	for i, l := range legend {
		y := ly + i*16
		draw.Draw(img, image.Rect(lx, y-6, lx+24, y-2), image.NewUniform(l.c), image.Point{}, draw.Src)
		text(img, lx+30, y, colTarget, l.name)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// seriesNaN is series that leaves gaps where values are NaN.
func (p *plot) seriesNaN(ts, vs []float64, w int, c color.Color, dash int, step bool) {
	start := 0
	for i := 0; i <= len(vs); i++ {
		if i == len(vs) || math.IsNaN(vs[i]) {
			if i-start > 1 {
				p.series(ts[start:i], vs[start:i], w, c, dash, step)
			}
			start = i + 1
		}
	}
}

// TestChart draws a known series and finds its curves where they belong;
// it needs no root.
func TestChart(t *testing.T) {
	var rows []row
	for i := range 41 {
		x := row{T: float64(i) / 2, Target: 4e6, Link: [2]int{10e6, 0}, Est: [2]int{6e6, 2e6}}
		x.Go.Bytes = uint64(i) * 1e6 / 8 * 2 / 2 // 1 Mbit/s arriving
		rows = append(rows, x)
	}
	b, err := chart("test", rows, rates(rows), []mark{{T: 10, Label: "step"}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	p := &plot{x0: 70, y0: 40, x1: 1180, y1: 590, tMax: 20, yMax: 12e6}
	for _, c := range []struct {
		what string
		v    float64
		col  color.RGBA
	}{{"target", 4e6, colTarget}, {"estimate of viewer 0", 6e6, colEst[0]}, {"estimate of viewer 1", 2e6, colEst[1]}, {"link 0", 10e6, colLink[0]}} {
		got := color.RGBAModel.Convert(img.At(p.px(7), p.py(c.v))).(color.RGBA)
		if got != c.col {
			t.Errorf("%s: pixel at 7 s, %.0f bit/s is %v, want %v", c.what, c.v, got, c.col)
		}
	}
	if got := color.RGBAModel.Convert(img.At(p.px(7), p.py(3e6))).(color.RGBA); got != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("pixel between the curves is %v, want white", got)
	}
}
