package encode

import (
	"bytes"
	"errors"
	"testing"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/h264"
)

// Parameter sets of a 64x48 constrained-baseline stream from openh264, and
// stand-ins for slices (Passthrough does not look inside slices).
var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x14, 0x8c, 0x8d, 0x42, 0x39, 0x00, 0xf0, 0x88, 0x46, 0xa0}
	testPPS = []byte{0x68, 0xce, 0x3c, 0x80}
	testIDR = []byte{0x65, 0x88, 0x84, 0x21, 0xa0}
	testP   = []byte{0x41, 0x9a, 0x02, 0x03}
	testAUD = []byte{0x09, 0xf0}
)

func annexB(nals ...[]byte) []byte {
	var b []byte
	for _, n := range nals {
		b = append(append(b, 0, 0, 0, 1), n...)
	}
	return b
}

func h264Frame(seq uint64, data []byte) *capture.Frame {
	return &capture.Frame{Format: capture.H264, Width: 64, Height: 48, Planes: [][]byte{data}, Seq: seq}
}

func nalTypes(au []byte) []h264.NALType {
	var ts []h264.NALType
	for _, n := range h264.SplitNALs(au) {
		ts = append(ts, h264.TypeOf(n))
	}
	return ts
}

func TestPassthrough(t *testing.T) {
	p := NewPassthrough()
	defer p.Close()
	steps := []struct {
		in        []byte
		wantKey   bool
		wantTypes []h264.NALType
	}{
		// An IDR before any parameter sets cannot start a decoder.
		{annexB(testIDR), false, []h264.NALType{h264.TypeIDR}},
		{annexB(testSPS, testPPS, testIDR), true, []h264.NALType{h264.TypeSPS, h264.TypePPS, h264.TypeIDR}},
		{annexB(testP), false, []h264.NALType{h264.TypeSlice}},
		// A later IDR without parameter sets gets the cached ones, after
		// the access unit delimiter.
		{annexB(testAUD, testIDR), true, []h264.NALType{h264.TypeAUD, h264.TypeSPS, h264.TypePPS, h264.TypeIDR}},
		{annexB(testPPS, testIDR), true, []h264.NALType{h264.TypeSPS, h264.TypePPS, h264.TypeIDR}},
	}
	for i, st := range steps {
		in := bytes.Clone(st.in)
		f := h264Frame(uint64(i), in)
		f.Keyframe = true // not trusted: only the bitstream says IDR
		au, ok, err := p.Encode(f)
		if err != nil || !ok {
			t.Fatalf("step %d: Encode: ok=%v err=%v", i, ok, err)
		}
		if au.Keyframe != st.wantKey || au.Seq != uint64(i) {
			t.Errorf("step %d: keyframe=%v seq=%d, want %v %d", i, au.Keyframe, au.Seq, st.wantKey, i)
		}
		if got := nalTypes(au.Data); !equalTypes(got, st.wantTypes) {
			t.Errorf("step %d: NAL units %v, want %v", i, got, st.wantTypes)
		}
		// The access unit must not share the frame's memory, which goes
		// back to the source.
		clear(in)
		if got := nalTypes(au.Data); !equalTypes(got, st.wantTypes) {
			t.Errorf("step %d: access unit changed with the frame's memory", i)
		}
	}
}

func equalTypes(a, b []h264.NALType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPassthroughBadInput(t *testing.T) {
	p := NewPassthrough()
	if _, _, err := p.Encode(nv12Frame(64, 48, 0)); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("NV12 frame: err = %v, want ErrUnsupportedFormat", err)
	}
	if _, _, err := p.Encode(h264Frame(0, []byte{0x65, 1, 2, 3})); !errors.Is(err, ErrBitstream) {
		t.Errorf("no start code: err = %v, want ErrBitstream", err)
	}
	if _, ok, err := p.Encode(h264Frame(0, nil)); ok || err != nil {
		t.Errorf("empty frame: ok=%v err=%v, want false, nil", ok, err)
	}
}

func TestPassthroughRequests(t *testing.T) {
	p := NewPassthrough()
	if err := p.SetBitrate(750_000); err != nil {
		t.Fatal(err)
	}
	if p.Bitrate() != 750_000 {
		t.Errorf("Bitrate() = %d, want 750000", p.Bitrate())
	}
	p.ForceKeyframe() // no requester yet: counted only
	asked := 0
	p.SetKeyframeRequester(func() { asked++ })
	p.ForceKeyframe()
	p.ForceKeyframe()
	if asked != 2 || p.KeyframeRequests() != 3 {
		t.Errorf("source asked %d times, %d requests counted; want 2, 3", asked, p.KeyframeRequests())
	}
	p.SetKeyframeRequester(nil)
	p.ForceKeyframe()
	if asked != 2 {
		t.Errorf("requester called after removal")
	}
}
