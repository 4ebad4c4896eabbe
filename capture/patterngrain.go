package capture

import "image"

// MaxGrain is the most film grain PatternOptions takes.
const MaxGrain = 64

// addGrain adds pseudo-random noise of up to ±amount/2 to the luma of f,
// clamped to 0..255, except inside skip (the block code, which must stay
// readable). The noise depends on the frame number only, so a frame drawn
// twice is the same, and it changes every frame, as sensor noise does.
func addGrain(f *Frame, amount int, skip image.Rectangle) {
	g := grain{x: f.Seq*0x9e3779b97f4a7c15 + 0x2545f4914f6cdd1d, scale: uint64(amount + 1), half: uint64(amount / 2)}
	y, stride := f.Planes[0], f.Strides[0]
	for r := 0; r < f.Height; r++ {
		row := y[r*stride : r*stride+f.Width]
		if r >= skip.Min.Y && r < skip.Max.Y {
			c0, c1 := min(max(skip.Min.X, 0), f.Width), min(max(skip.Max.X, 0), f.Width)
			g.row(row[:c0])
			g.row(row[c1:])
			continue
		}
		g.row(row)
	}
}

// grain is a xorshift64* generator that yields eight noise values a step.
type grain struct {
	x           uint64
	scale, half uint64
}

func (g *grain) row(row []byte) {
	for len(row) > 0 {
		g.x ^= g.x >> 12
		g.x ^= g.x << 25
		g.x ^= g.x >> 27
		bits := g.x * 0x2545f4914f6cdd1d
		n := min(8, len(row))
		for i := range row[:n] {
			v := uint64(row[i]) + (bits&0xff)*g.scale>>8 // + 0..amount
			bits >>= 8
			switch {
			case v < g.half:
				row[i] = 0
			case v-g.half > 255:
				row[i] = 255
			default:
				row[i] = byte(v - g.half)
			}
		}
		row = row[n:]
	}
}
