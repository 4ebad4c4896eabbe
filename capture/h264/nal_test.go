package h264

import (
	"bytes"
	"os"
	"testing"
	"unsafe"
)

func readFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/testsrc-320x240.h264")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// within reports whether sub shares memory with b (a zero-copy sub-slice).
func within(sub, b []byte) bool {
	if len(sub) == 0 || len(b) == 0 {
		return false
	}
	s, e := uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&b[len(b)-1]))
	p := uintptr(unsafe.Pointer(&sub[0]))
	return p >= s && p+uintptr(len(sub))-1 <= e
}

func TestSplitNALs(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want [][]byte
	}{
		{"empty", nil, nil},
		{"no start code", []byte{1, 2, 3, 4}, nil},
		{"three-byte", []byte{0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3}, [][]byte{{0x67, 1, 2}, {0x68, 3}}},
		{"four-byte", []byte{0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x65, 9}, [][]byte{{0x67, 1}, {0x65, 9}}},
		{"mixed with garbage in front", []byte{9, 9, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x41, 0x9a}, [][]byte{{0x09, 0xf0}, {0x41, 0x9a}}},
		{"empty units and trailing zeros", []byte{0, 0, 1, 0, 0, 1, 0x06, 5, 0, 0, 0, 0, 0, 0, 1, 0x68, 0, 0}, [][]byte{{0x06, 5}, {0x68}}},
		{"emulation prevention stays", []byte{0, 0, 1, 0x65, 0, 0, 3, 1, 7}, [][]byte{{0x65, 0, 0, 3, 1, 7}}},
		{"start code at the end", []byte{0, 0, 1, 0x41, 7, 0, 0, 1}, [][]byte{{0x41, 7}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SplitNALs(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("SplitNALs = %x, want %x", got, tt.want)
			}
			for i := range got {
				if !bytes.Equal(got[i], tt.want[i]) {
					t.Errorf("NAL %d = %x, want %x", i, got[i], tt.want[i])
				}
				if !within(got[i], tt.in) {
					t.Errorf("NAL %d is a copy, want a sub-slice of the input", i)
				}
			}
		})
	}
}

func TestSplitNALsFixture(t *testing.T) {
	b := readFixture(t)
	nals := SplitNALs(b)
	count := map[NALType]int{}
	for _, n := range nals {
		count[TypeOf(n)]++
	}
	// The fixture is 60 frames of x264 baseline with a GOP of 30: x264's SEI
	// once, two IDR pictures each with SPS and PPS in front (added by
	// h264_mp4toannexb), 58 P pictures, one slice each.
	want := map[NALType]int{TypeSPS: 2, TypePPS: 2, TypeSEI: 1, TypeIDR: 2, TypeSlice: 58}
	for typ, n := range want {
		if count[typ] != n {
			t.Errorf("%v NAL units: %d, want %d (all: %v)", typ, count[typ], n, count)
		}
	}
	if got := []NALType{TypeOf(nals[0]), TypeOf(nals[1]), TypeOf(nals[2]), TypeOf(nals[3])}; got[0] != TypeSPS || got[1] != TypePPS || got[2] != TypeSEI || got[3] != TypeIDR {
		t.Errorf("first NAL units %v, want SPS PPS SEI IDR", got)
	}
}

func TestIsKeyframe(t *testing.T) {
	idr := []byte{0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x65, 0x88}
	p := []byte{0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x41, 0x9a}
	if !IsKeyframe(idr) {
		t.Error("IsKeyframe(SPS PPS IDR) = false")
	}
	if IsKeyframe(p) {
		t.Error("IsKeyframe(AUD slice) = true")
	}
	if IsKeyframe(nil) || IsKeyframe([]byte{0x65, 0x88}) {
		t.Error("IsKeyframe without start codes = true")
	}
}

func TestNALTypeString(t *testing.T) {
	for typ, want := range map[NALType]string{TypeIDR: "IDR", TypeSPS: "SPS", 3: "slice-b", 20: "nal-20", 31: "nal-31"} {
		if got := typ.String(); got != want {
			t.Errorf("NALType(%d).String() = %q, want %q", typ, got, want)
		}
	}
}

func TestNextNALDoesNotAllocate(t *testing.T) {
	b := readFixture(t)
	allocs := testing.AllocsPerRun(10, func() {
		if !IsKeyframe(b) {
			t.Fatal("fixture has no IDR")
		}
	})
	if allocs != 0 {
		t.Errorf("IsKeyframe allocates %v times, want 0", allocs)
	}
}

func BenchmarkSplitNALs(b *testing.B) {
	data := readFixture(b)
	var dst [][]byte
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		dst = AppendNALs(dst[:0], data)
	}
}
