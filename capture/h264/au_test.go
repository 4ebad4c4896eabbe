package h264

import (
	"bytes"
	"errors"
	"testing"
)

// nalTypes lists the NAL unit types in Annex-B bytes.
func nalTypes(b []byte) []NALType {
	var ts []NALType
	for _, n := range SplitNALs(b) {
		ts = append(ts, TypeOf(n))
	}
	return ts
}

func TestSplitAccessUnitsFixture(t *testing.T) {
	b := readFixture(t)
	aus := SplitAccessUnits(b)
	// ffprobe counts 60 frames, keyframes at 0 and 30.
	if len(aus) != 60 {
		t.Fatalf("%d access units, want 60", len(aus))
	}
	for i, au := range aus {
		if !within(au, b) {
			t.Fatalf("AU %d is not a sub-slice of the input", i)
		}
		vcl := 0
		for _, typ := range nalTypes(au) {
			if typ.IsVCL() {
				vcl++
			}
		}
		if vcl != 1 {
			t.Errorf("AU %d holds %d slices (%v), want 1", i, vcl, nalTypes(au))
		}
		if want := i%30 == 0; IsKeyframe(au) != want {
			t.Errorf("AU %d: IsKeyframe = %v, want %v", i, !want, want)
		}
	}
	if got := nalTypes(aus[30]); len(got) != 3 || got[0] != TypeSPS || got[1] != TypePPS || got[2] != TypeIDR {
		t.Errorf("AU 30 = %v, want SPS PPS IDR", got)
	}
	// Nothing is lost: the AUs are the whole stream, in order.
	if joined := bytes.Join(aus, nil); len(joined) != len(b) {
		t.Errorf("AUs hold %d bytes, stream %d", len(joined), len(b))
	}
}

// stream builds Annex-B bytes from NAL units, alternating start code sizes.
func stream(nals ...[]byte) []byte {
	var b []byte
	for i, n := range nals {
		if i%2 == 0 {
			b = append(b, 0)
		}
		b = append(append(b, 0, 0, 1), n...)
	}
	return b
}

var (
	aud      = []byte{0x09, 0xf0}
	sps      = []byte{0x67, 0x42, 0xc0, 0x1f, 0xda}
	pps      = []byte{0x68, 0xce, 0x3c, 0x80}
	sei      = []byte{0x06, 0x05, 0x01, 0xaa, 0x80}
	idr0     = []byte{0x65, 0x88, 0x84, 0x21} // first_mb_in_slice 0
	idr1     = []byte{0x65, 0x40, 0x12, 0x34} // first_mb_in_slice 1
	p0       = []byte{0x41, 0x9a, 0x02, 0x03}
	p1       = []byte{0x41, 0x30, 0x00, 0x03, 0x01} // first_mb 2, with an escape
	eos      = []byte{0x0a}
	filler   = []byte{0x0c, 0xff, 0xff, 0x80}
	garbage  = []byte{0x12, 0x34, 0x00}
	emptyNAL = []byte{0x00}
)

func TestSplitAccessUnitsRules(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want [][]NALType
	}{
		{"AUD delimited", stream(aud, sps, pps, idr0, aud, p0, aud, p0),
			[][]NALType{{TypeAUD, TypeSPS, TypePPS, TypeIDR}, {TypeAUD, TypeSlice}, {TypeAUD, TypeSlice}}},
		{"first_mb_in_slice", stream(sps, pps, idr0, idr1, p0, p1, p1, p0),
			[][]NALType{{TypeSPS, TypePPS, TypeIDR, TypeIDR}, {TypeSlice, TypeSlice, TypeSlice}, {TypeSlice}}},
		{"SEI and parameter sets after a slice", stream(sei, idr0, sei, p0, sps, pps, idr0, pps, p0),
			[][]NALType{{TypeSEI, TypeIDR}, {TypeSEI, TypeSlice}, {TypeSPS, TypePPS, TypeIDR}, {TypePPS, TypeSlice}}},
		{"filler stays, end of sequence ends", stream(idr0, filler, p1, eos, p1, p0),
			[][]NALType{{TypeIDR, TypeFiller, TypeSlice, TypeEndOfSequence}, {TypeSlice}, {TypeSlice}}},
		{"garbage, empty units, trailing parameter sets", append(append([]byte{7, 7, 7}, stream(emptyNAL, idr0, p0, sps)...), 0, 0, 1),
			[][]NALType{{TypeIDR}, {TypeSlice}}},
		{"no slices", stream(sps, pps, sei), nil},
		{"not H.264", garbage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aus := SplitAccessUnits(tt.in)
			var got [][]NALType
			for _, au := range aus {
				got = append(got, nalTypes(au))
			}
			if !equalTypes(got, tt.want) {
				t.Errorf("access units %v, want %v", got, tt.want)
			}
			if streamed := splitChunked(t, tt.in, 1); !equalAUs(streamed, aus) {
				t.Errorf("byte by byte: %x, want %x", streamed, aus)
			}
		})
	}
}

func equalTypes(a, b [][]NALType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

func equalAUs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func splitChunked(t testing.TB, b []byte, chunk int) [][]byte {
	var s AccessUnitSplitter
	var aus [][]byte
	for len(b) > 0 {
		n := min(chunk, len(b))
		if _, err := s.Write(b[:n]); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
		for au, ok := s.Next(); ok; au, ok = s.Next() {
			aus = append(aus, au)
		}
	}
	s.Flush()
	for au, ok := s.Next(); ok; au, ok = s.Next() {
		aus = append(aus, au)
	}
	return aus
}

func TestAccessUnitSplitterChunks(t *testing.T) {
	b := readFixture(t)
	want := SplitAccessUnits(b)
	for _, chunk := range []int{1, 2, 3, 5, 188, 1460, 4096, len(b)} {
		if got := splitChunked(t, b, chunk); !equalAUs(got, want) {
			t.Errorf("chunks of %d: %d access units differ from the whole-stream split (%d)", chunk, len(got), len(want))
		}
	}
}

// An access unit comes out as soon as the next one's first NAL header and
// first_mb_in_slice byte have arrived, not a NAL unit later.
func TestAccessUnitSplitterPromptness(t *testing.T) {
	var s AccessUnitSplitter
	s.Write(stream(sps, pps, idr0))
	if _, ok := s.Next(); ok {
		t.Fatal("an access unit came out before it was complete")
	}
	s.Write([]byte{0, 0, 1, 0x41})
	if _, ok := s.Next(); ok {
		t.Fatal("an access unit came out before first_mb_in_slice of the next slice was known")
	}
	s.Write([]byte{0x9a})
	au, ok := s.Next()
	if !ok {
		t.Fatal("no access unit after the next picture's first slice began")
	}
	if got := nalTypes(au); len(got) != 3 || got[2] != TypeIDR {
		t.Errorf("access unit %v, want SPS PPS IDR", got)
	}
	s.Write([]byte{0x02, 0x03})
	s.Flush()
	if au, ok := s.Next(); !ok || !bytes.Equal(au, []byte{0, 0, 1, 0x41, 0x9a, 2, 3}) {
		t.Errorf("after Flush: %x %v, want the P slice", au, ok)
	}
	if _, ok := s.Next(); ok {
		t.Error("more than one access unit after Flush")
	}
}

func TestAccessUnitSplitterTooLarge(t *testing.T) {
	var s AccessUnitSplitter
	s.Write(stream(sps, pps, idr0))
	big := bytes.Repeat([]byte{0x5a}, 1<<20)
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		_, err = s.Write(big)
	}
	if !errors.Is(err, ErrAccessUnitTooLarge) {
		t.Fatalf("Write of an endless access unit: %v, want ErrAccessUnitTooLarge", err)
	}
	// The splitter resynchronises on the following access units.
	s.Write(stream(aud, idr0, aud, p0, aud))
	var got [][]NALType
	for au, ok := s.Next(); ok; au, ok = s.Next() {
		got = append(got, nalTypes(au))
	}
	if len(got) == 0 || got[len(got)-1][1] != TypeSlice {
		t.Errorf("after an oversized unit: %v, want the following units", got)
	}
	if cap(s.buf) > 3*MaxAccessUnitSize {
		t.Errorf("buffer capacity %d", cap(s.buf))
	}
}

func BenchmarkAccessUnitSplitter(b *testing.B) {
	data := readFixture(b)
	var s AccessUnitSplitter
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		for p := data; len(p) > 0; {
			n := min(1460, len(p))
			s.Write(p[:n])
			p = p[n:]
			for _, ok := s.Next(); ok; _, ok = s.Next() {
			}
		}
		s.Flush()
		for _, ok := s.Next(); ok; _, ok = s.Next() {
		}
	}
}
