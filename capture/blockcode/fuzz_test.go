package blockcode

import (
	"errors"
	"testing"
)

// FuzzRead gives Read arbitrary luma planes, strides and sizes (negative
// and huge ones too): it returns a code or an error, never panics; and a
// code drawn into a frame of the fuzzed size reads back exactly, whatever
// the bytes around it.
func FuzzRead(f *testing.F) {
	f.Add([]byte{}, 640, 640, 480, uint32(1), uint64(2))
	f.Add(make([]byte, 300*200), 300, 300, 200, uint32(7), uint64(1<<40-1))
	f.Add(make([]byte, 100), -1, 1<<62, 1<<62, uint32(0), uint64(0))
	f.Add(make([]byte, 1000), 1<<60, 640, 480, uint32(0), uint64(0))
	f.Fuzz(func(t *testing.T, y []byte, stride, width, height int, seq uint32, ms uint64) {
		if c, err := Read(y, stride, width, height); err == nil && c.TimeMs > timeMask {
			t.Fatalf("read a time of more than 40 bits: %+v", c)
		}
		// A frame of a sane size around the fuzzed bytes.
		w, h := 200+abs(width)%800, 150+abs(height)%600
		s := w + abs(stride)%64
		p := make([]byte, s*h)
		for i := range p {
			if len(y) > 0 {
				p[i] = y[i%len(y)]
			}
		}
		planes := [][]byte{p, make([]byte, (s/2+1)*(h/2+1)), make([]byte, (s/2+1)*(h/2+1))}
		want := Code{Seq: seq, TimeMs: ms & timeMask}
		DrawI420(planes, []int{s, s/2 + 1, s/2 + 1}, w, h, want)
		got, err := Read(p, s, w, h)
		if CellSize(w, h) == 0 {
			if !errors.Is(err, ErrTooSmall) {
				t.Fatalf("%dx%d: %v, want ErrTooSmall", w, h, err)
			}
			return
		}
		if err != nil || got != want {
			t.Fatalf("%dx%d stride %d: read %+v, %v; drew %+v", w, h, s, got, err, want)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // the most negative int
			return 0
		}
		return -n
	}
	return n
}
