package encode

import (
	"image"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/blockcode"
)

// addGrain adds moving film grain to the luma of a pattern frame, outside
// the block code, so that the picture holds more detail than a few hundred
// kbit/s can carry: rate control then has something to cut.
func addGrain(f *capture.Frame, amount byte) {
	code := blockcode.Rect(f.Width, f.Height)
	x := uint32(f.Seq)*2654435761 + 1
	y, s := f.Planes[0], f.Strides[0]
	for r := 0; r < f.Height; r++ {
		row := y[r*s : r*s+f.Width]
		for c := range row {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			if (image.Point{c, r}).In(code) {
				continue
			}
			row[c] += byte(x>>24) % amount
		}
	}
}
