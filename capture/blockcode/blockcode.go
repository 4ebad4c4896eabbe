package blockcode

import (
	"errors"
	"fmt"
	"image"
	"time"
)

// Layout constants; see the package comment.
const (
	Cols   = 12
	Rows   = 8
	Margin = 16  // quiet zone around the cells, in pixels
	White  = 235 // luma of a 1 cell
	Black  = 16  // luma of a 0 cell
	Quiet  = 128 // luma of the quiet zone, and chroma under the code

	// MinContrast is the least difference between the white and black
	// reference levels that Read accepts.
	MinContrast = 48
)

// syncPattern is column 0 from the top, 1 for white.
var syncPattern = [Rows]byte{1, 1, 0, 1, 0, 0, 1, 0}

// Errors returned by Read.
var (
	ErrTooSmall = errors.New("blockcode: frame too small for a code")
	ErrNoCode   = errors.New("blockcode: no code found")
	ErrUnclear  = errors.New("blockcode: a cell is neither black nor white")
	ErrChecksum = errors.New("blockcode: checksum mismatch")
)

const timeMask = 1<<40 - 1

// Code is what a frame carries.
type Code struct {
	Seq uint32
	// TimeMs is the capture time in Unix milliseconds. Only its low 40 bits
	// travel in the frame: Read returns those, and Resolve reconstructs
	// the full time.
	TimeMs uint64
}

// Resolve returns the capture time: the time nearest now whose Unix
// milliseconds have the low 40 bits of c.TimeMs. It is exact while the
// reader's clock is within about 17 years of the writer's.
func (c Code) Resolve(now time.Time) time.Time {
	n := now.UnixMilli()
	d := int64((c.TimeMs - uint64(n)) & timeMask)
	if d >= 1<<39 {
		d -= 1 << 40
	}
	return time.UnixMilli(n + d)
}

// CellSize returns the cell size in pixels for a frame, or 0 if the frame is
// too small for a code.
func CellSize(width, height int) int {
	k := max(1, min(width/640, height/360))
	c := 16 * k
	if width < Cols*c+2*Margin || height < Rows*c+2*Margin {
		return 0
	}
	return c
}

// Rect returns the area the code occupies in a frame of the given size,
// quiet zone included, or an empty rectangle if the frame is too small.
func Rect(width, height int) image.Rectangle {
	c := CellSize(width, height)
	if c == 0 {
		return image.Rectangle{}
	}
	return image.Rect(0, 0, Cols*c+2*Margin, Rows*c+2*Margin)
}

// bits returns the 88 data bits as eleven bytes.
func (c Code) bytes() [11]byte {
	var b [11]byte
	b[0], b[1], b[2], b[3] = byte(c.Seq>>24), byte(c.Seq>>16), byte(c.Seq>>8), byte(c.Seq)
	t := c.TimeMs & timeMask
	for i := range 5 {
		b[4+i] = byte(t >> (32 - 8*i))
	}
	crc := crc16(b[:9])
	b[9], b[10] = byte(crc>>8), byte(crc)
	return b
}

// crc16 is CRC-16/CCITT-FALSE.
func crc16(b []byte) uint16 {
	crc := uint16(0xffff)
	for _, x := range b {
		crc ^= uint16(x) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// cellBit returns the value cell (col, row) carries for the data bytes b.
func cellBit(b *[11]byte, col, row int) byte {
	if col == 0 {
		return syncPattern[row]
	}
	i := row*(Cols-1) + col - 1
	return b[i/8] >> (7 - i%8) & 1
}

// DrawI420 stamps c into a planar 4:2:0 frame (planes Y, U, V with their
// strides) of the given size. It draws nothing if the frame is too small for
// a code or the planes do not cover the code's rectangle.
func DrawI420(planes [][]byte, strides []int, width, height int, c Code) {
	cs := CellSize(width, height)
	if cs == 0 || len(planes) < 3 || len(strides) < 3 {
		return
	}
	w, h := Cols*cs+2*Margin, Rows*cs+2*Margin
	if !covers(planes[0], strides[0], w, h) || !covers(planes[1], strides[1], w/2, h/2) || !covers(planes[2], strides[2], w/2, h/2) {
		return
	}
	quiet := func(row []byte) {
		for i := range row {
			row[i] = Quiet
		}
	}
	fillRows(planes[1], strides[1], 0, h/2, w/2, quiet)
	fillRows(planes[2], strides[2], 0, h/2, w/2, quiet)
	y, ys := planes[0], strides[0]
	fillRows(y, ys, 0, Margin, w, quiet)
	fillRows(y, ys, h-Margin, Margin, w, quiet)
	b := c.bytes()
	for r := range Rows {
		fillRows(y, ys, Margin+r*cs, cs, w, func(row []byte) {
			for i := range Margin {
				row[i], row[w-1-i] = Quiet, Quiet
			}
			for col := range Cols {
				v := byte(Black)
				if cellBit(&b, col, r) == 1 {
					v = White
				}
				cell := row[Margin+col*cs : Margin+(col+1)*cs]
				for i := range cell {
					cell[i] = v
				}
			}
		})
	}
}

// covers reports whether a plane with the given stride holds w x h pixels.
// It divides rather than multiplies, so a huge stride cannot overflow into
// a small size.
func covers(p []byte, stride, w, h int) bool {
	if w <= 0 || h <= 0 || stride < w || len(p) < w {
		return false
	}
	return h-1 <= (len(p)-w)/stride
}

// fillRows draws rows y0..y0+n-1 (w pixels wide) by drawing the first with
// draw and copying it to the others.
func fillRows(p []byte, stride, y0, n, w int, draw func(row []byte)) {
	first := p[y0*stride : y0*stride+w]
	draw(first)
	for y := y0 + 1; y < y0+n; y++ {
		copy(p[y*stride:y*stride+w], first)
	}
}

// Read finds the code in a frame's luma plane y (stride bytes per row) of
// the given size. It returns ErrTooSmall, ErrNoCode, ErrUnclear or
// ErrChecksum (wrapped) when there is no code it can trust.
func Read(y []byte, stride, width, height int) (Code, error) {
	cs := CellSize(width, height)
	if cs == 0 {
		return Code{}, fmt.Errorf("blockcode.Read: %w (%dx%d)", ErrTooSmall, width, height)
	}
	if !covers(y, stride, Cols*cs+2*Margin, Rows*cs+2*Margin) {
		return Code{}, fmt.Errorf("blockcode.Read: luma plane of %d bytes with stride %d does not hold a %dx%d frame", len(y), stride, width, height)
	}
	var means [Rows][Cols]int
	half, inset := cs/2, cs/4
	for r := range Rows {
		for c := range Cols {
			x0, y0 := Margin+c*cs+inset, Margin+r*cs+inset
			sum := 0
			for yy := y0; yy < y0+half; yy++ {
				for _, v := range y[yy*stride+x0 : yy*stride+x0+half] {
					sum += int(v)
				}
			}
			means[r][c] = sum / (half * half)
		}
	}
	return decode(&means)
}

// decode turns the cells' mean luma into a code, as the package comment
// describes.
func decode(means *[Rows][Cols]int) (Code, error) {
	white, black := 0, 0
	for r, s := range syncPattern {
		if s == 1 {
			white += means[r][0]
		} else {
			black += means[r][0]
		}
	}
	white, black = white/4, black/4
	contrast := white - black
	if contrast < MinContrast {
		return Code{}, fmt.Errorf("blockcode.Read: %w (contrast %d)", ErrNoCode, contrast)
	}
	thr, margin := (white+black)/2, contrast/8
	var b [11]byte
	for r := range Rows {
		for c := range Cols {
			m := means[r][c]
			var bit byte
			switch {
			case m > thr+margin:
				bit = 1
			case m < thr-margin:
				bit = 0
			default:
				return Code{}, fmt.Errorf("blockcode.Read: %w (cell %d,%d: %d, threshold %d±%d)", ErrUnclear, c, r, m, thr, margin)
			}
			if c == 0 {
				if bit != syncPattern[r] {
					return Code{}, fmt.Errorf("blockcode.Read: %w (sync cell %d wrong)", ErrNoCode, r)
				}
				continue
			}
			i := r*(Cols-1) + c - 1
			b[i/8] |= bit << (7 - i%8)
		}
	}
	if got, want := uint16(b[9])<<8|uint16(b[10]), crc16(b[:9]); got != want {
		return Code{}, fmt.Errorf("blockcode.Read: %w (%04x, want %04x)", ErrChecksum, got, want)
	}
	var t uint64
	for _, x := range b[4:9] {
		t = t<<8 | uint64(x)
	}
	return Code{Seq: uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), TimeMs: t}, nil
}
