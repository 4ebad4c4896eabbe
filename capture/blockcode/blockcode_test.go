package blockcode

import (
	"errors"
	"image"
	"math/rand/v2"
	"testing"
	"time"
)

func TestCRC16(t *testing.T) {
	// The catalogue check value of CRC-16/CCITT-FALSE.
	if got := crc16([]byte("123456789")); got != 0x29b1 {
		t.Errorf("crc16(123456789) = %04x, want 29b1", got)
	}
}

func TestRect(t *testing.T) {
	tests := []struct {
		w, h, cell int
		rect       image.Rectangle
	}{
		{640, 480, 16, image.Rect(0, 0, 224, 160)},
		{1280, 720, 32, image.Rect(0, 0, 416, 288)},
		{1920, 1080, 48, image.Rect(0, 0, 608, 416)},
		{960, 720, 16, image.Rect(0, 0, 224, 160)},
		{1280, 480, 16, image.Rect(0, 0, 224, 160)},
		{224, 160, 16, image.Rect(0, 0, 224, 160)},
		{223, 160, 0, image.Rectangle{}},
		{320, 159, 0, image.Rectangle{}},
		{0, 0, 0, image.Rectangle{}},
		{-5, 100, 0, image.Rectangle{}},
	}
	for _, tt := range tests {
		if got := CellSize(tt.w, tt.h); got != tt.cell {
			t.Errorf("CellSize(%d, %d) = %d, want %d", tt.w, tt.h, got, tt.cell)
		}
		r := Rect(tt.w, tt.h)
		if r != tt.rect {
			t.Errorf("Rect(%d, %d) = %v, want %v", tt.w, tt.h, r, tt.rect)
		}
		if r.Dx()%16 != 0 || r.Dy()%16 != 0 {
			t.Errorf("Rect(%d, %d) = %v is not macroblock aligned", tt.w, tt.h, r)
		}
	}
}

func randomCode(rng *rand.Rand) Code {
	return Code{Seq: rng.Uint32(), TimeMs: rng.Uint64N(1 << 40)}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	codes := []Code{{}, {Seq: ^uint32(0), TimeMs: 1<<40 - 1}, {Seq: 1, TimeMs: uint64(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli())}}
	for range 20 {
		codes = append(codes, randomCode(rng))
	}
	for _, size := range [][2]int{{640, 480}, {1280, 720}, {1920, 1080}, {320, 240}, {225, 161}, {961, 719}} {
		f := newFrame(size[0], size[1], rng)
		for _, c := range codes {
			f.draw(c)
			got, err := f.read()
			if err != nil {
				t.Fatalf("%dx%d %+v: %v", f.w, f.h, c, err)
			}
			if want := (Code{c.Seq, c.TimeMs & timeMask}); got != want {
				t.Fatalf("%dx%d: read %+v, drew %+v", f.w, f.h, got, want)
			}
		}
	}
}

func TestDrawTouchesOnlyTheRect(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	f := newFrame(640, 480, rng)
	before := [][]byte{append([]byte(nil), f.planes[0]...), append([]byte(nil), f.planes[1]...), append([]byte(nil), f.planes[2]...)}
	f.draw(Code{Seq: 7})
	r := Rect(f.w, f.h)
	for p, plane := range f.planes {
		sub := 1
		if p > 0 {
			sub = 2
		}
		for i, v := range plane {
			x, y := i%f.strides[p]*sub, i/f.strides[p]*sub
			in := image.Pt(x, y).In(r)
			switch {
			case !in && v != before[p][i]:
				t.Fatalf("plane %d: (%d,%d) outside %v changed", p, x, y, r)
			case in && p > 0 && v != Quiet:
				t.Fatalf("plane %d: chroma %d at (%d,%d), want %d", p, v, x, y, Quiet)
			}
		}
	}
}

func TestReadsThroughDegradation(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	steps := []struct {
		name  string
		apply func(f *frame)
	}{
		{"noise ±30", func(f *frame) { f.noise(30, rng) }},
		{"downscale 2 and noise ±30", func(f *frame) { f.rescale(2); f.noise(30, rng) }},
		{"downscale 4, quantise 32, noise ±30", func(f *frame) { f.rescale(4); f.quantise(32); f.noise(30, rng) }},
		{"darker, low contrast, noise ±20", func(f *frame) { f.levels(1, 3, 40); f.rescale(2); f.noise(20, rng) }},
		{"full range, quantise 48", func(f *frame) { f.levels(255, 219, -18); f.quantise(48) }},
	}
	for _, size := range [][2]int{{640, 480}, {1280, 720}} {
		for _, st := range steps {
			for i := range 5 {
				f := newFrame(size[0], size[1], rng)
				c := randomCode(rng)
				f.draw(c)
				st.apply(f)
				got, err := f.read()
				if err != nil || got != c {
					t.Errorf("%dx%d %s #%d: read %+v, %v; want %+v", f.w, f.h, st.name, i, got, err, c)
				}
			}
		}
	}
}

func TestRejectsCorruption(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	f := newFrame(640, 480, rng)
	c := Code{Seq: 123456, TimeMs: 987654321}
	f.draw(c)
	flip := func(col, row int) {
		if f.cell(col, row) == White {
			f.setCell(col, row, Black)
		} else {
			f.setCell(col, row, White)
		}
	}
	// Every single wrong cell is caught: by the sync check or by the CRC,
	// which detects all errors of up to three bits in 88.
	for row := range Rows {
		for col := range Cols {
			flip(col, row)
			got, err := f.read()
			want := ErrChecksum
			if col == 0 {
				want = ErrNoCode
			}
			if !errors.Is(err, want) {
				t.Errorf("cell %d,%d flipped: %+v, %v; want %v", col, row, got, err, want)
			}
			flip(col, row)
		}
	}
	for i := range 2000 {
		n := 2 + i%4
		var cells [][2]int
		for range n {
			cell := [2]int{1 + rng.IntN(Cols-1), rng.IntN(Rows)}
			cells = append(cells, cell)
			flip(cell[0], cell[1])
		}
		got, err := f.read()
		if err == nil && got != c {
			t.Fatalf("flipped %v: read wrong code %+v", cells, got)
		}
		for j := len(cells) - 1; j >= 0; j-- {
			flip(cells[j][0], cells[j][1])
		}
	}
	// A cell half way between black and white is refused, not guessed.
	f.setCell(3, 3, (White+Black)/2)
	if _, err := f.read(); !errors.Is(err, ErrUnclear) {
		t.Errorf("grey cell: %v, want ErrUnclear", err)
	}
}

// A skipped macroblock in a P frame leaves cells of the previous code in
// place; the mixture must read as one of the two codes or not at all.
func TestMixedCodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	a, b := newFrame(1280, 720, rng), newFrame(1280, 720, rng)
	for i := range 3000 {
		ca := Code{Seq: uint32(i), TimeMs: (1_750_000_000_000 + uint64(i)*33) & timeMask}
		cb := Code{Seq: uint32(i + 1), TimeMs: ca.TimeMs + 33}
		a.draw(ca)
		b.draw(cb)
		for range 1 + rng.IntN(6) {
			b.copyCell(a, 1+rng.IntN(Cols-1), rng.IntN(Rows))
		}
		got, err := b.read()
		if err == nil && got != ca && got != cb {
			t.Fatalf("mixture of %+v and %+v read as %+v", ca, cb, got)
		}
	}
}

func TestRejectsNonCodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	f := newFrame(640, 480, rng)
	if _, err := f.read(); err == nil {
		t.Error("noise read as a code")
	}
	for i := range f.planes[0] {
		f.planes[0][i] = 200
	}
	if _, err := f.read(); !errors.Is(err, ErrNoCode) {
		t.Errorf("flat frame: %v, want ErrNoCode", err)
	}
	// A mirrored code fails the sync column.
	f.draw(Code{Seq: 42, TimeMs: 42})
	w := Rect(f.w, f.h).Dx()
	for y := range f.h {
		row := f.planes[0][y*f.strides[0] : y*f.strides[0]+w]
		for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
	if _, err := f.read(); !errors.Is(err, ErrNoCode) {
		t.Errorf("mirrored code: %v, want ErrNoCode", err)
	}
	// Random cell patterns: the sync column and CRC reject them all.
	for range 5000 {
		for row := range Rows {
			for col := range Cols {
				f.setCell(col, row, []byte{Black, White}[rng.IntN(2)])
			}
		}
		if c, err := f.read(); err == nil {
			// 1 in 2^24 per frame; a hit here means the checks are broken.
			t.Fatalf("random cells read as %+v", c)
		}
	}
}

func TestBadInput(t *testing.T) {
	if _, err := Read(make([]byte, 10), 640, 640, 480); err == nil {
		t.Error("Read of a short plane succeeded")
	}
	if _, err := Read(make([]byte, 640*480), 100, 640, 480); err == nil {
		t.Error("Read with a stride narrower than the code succeeded")
	}
	if _, err := Read(nil, 0, 100, 100); !errors.Is(err, ErrTooSmall) {
		t.Errorf("Read of a tiny frame: %v, want ErrTooSmall", err)
	}
	// DrawI420 leaves planes alone when they cannot hold the code.
	short := [][]byte{make([]byte, 640*100), make([]byte, 320*240), make([]byte, 320*240)}
	DrawI420(short, []int{640, 320, 320}, 640, 480, Code{Seq: 1})
	DrawI420(short[:2], []int{640, 320}, 640, 480, Code{Seq: 1})
	DrawI420(nil, nil, 640, 480, Code{Seq: 1})
	for _, p := range short {
		for _, v := range p {
			if v != 0 {
				t.Fatal("DrawI420 wrote into planes too small for the code")
			}
		}
	}
}

func TestResolve(t *testing.T) {
	now := time.Date(2025, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{0, -time.Second, 250 * time.Millisecond, -10 * time.Hour, 24 * time.Hour * 365 * 10, -24 * time.Hour * 365 * 10} {
		at := now.Add(d)
		c := Code{TimeMs: uint64(at.UnixMilli()) & timeMask}
		if got := c.Resolve(now); !got.Equal(at) {
			t.Errorf("capture at %v, resolved at %v: %v", at, now, got)
		}
	}
	// Across a wrap of the low 40 bits.
	wrap := time.UnixMilli(5 << 40)
	c := Code{TimeMs: uint64(wrap.Add(-3*time.Millisecond).UnixMilli()) & timeMask}
	if got := c.Resolve(wrap.Add(time.Second)); !got.Equal(wrap.Add(-3 * time.Millisecond)) {
		t.Errorf("across the wrap: %v", got)
	}
}

func TestNoAllocs(t *testing.T) {
	f := newFrame(1280, 720, rand.New(rand.NewPCG(1, 1)))
	c := Code{Seq: 1, TimeMs: 2}
	if n := testing.AllocsPerRun(20, func() {
		c.Seq++
		f.draw(c)
		if _, err := f.read(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("DrawI420 and Read allocate %v times, want 0", n)
	}
}

func BenchmarkDrawI420(b *testing.B) {
	f := newFrame(1280, 720, rand.New(rand.NewPCG(1, 1)))
	for i := 0; b.Loop(); i++ {
		f.draw(Code{Seq: uint32(i)})
	}
}

func BenchmarkRead(b *testing.B) {
	f := newFrame(1280, 720, rand.New(rand.NewPCG(1, 1)))
	f.draw(Code{Seq: 99})
	for b.Loop() {
		if _, err := f.read(); err != nil {
			b.Fatal(err)
		}
	}
}
