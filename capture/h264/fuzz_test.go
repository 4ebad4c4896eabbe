package h264

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func FuzzSplitNALs(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0x67, 0, 0, 0, 1, 0x65, 0, 0, 3, 1}, uint8(1))
	f.Add(stream(aud, sps, pps, idr0, idr1, aud, p0, p1, sei, eos, p0), uint8(3))
	f.Add([]byte{0, 0, 0, 0, 1, 0, 0, 1, 0, 0}, uint8(2))
	f.Add(readFixture(f)[:2000], uint8(7))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		for _, nal := range SplitNALs(b) {
			if len(nal) == 0 || nal[len(nal)-1] == 0 {
				t.Fatalf("NAL %x is empty or ends in zero", nal)
			}
			if bytes.Contains(nal, startCode) {
				t.Fatalf("NAL %x holds a start code", nal)
			}
			if !within(nal, b) {
				t.Fatalf("NAL %x is not a sub-slice", nal)
			}
		}
		IsKeyframe(b)
		aus := SplitAccessUnits(b)
		if got := splitChunked(t, b, int(chunk)+1); !equalAUs(got, aus) {
			t.Fatalf("chunks of %d: %x, whole: %x", int(chunk)+1, got, aus)
		}
		var c ParamCache
		for _, au := range aus {
			if out := c.Apply(au); IsKeyframe(out) != IsKeyframe(au) {
				t.Fatalf("Apply changed keyframe-ness of %x", au)
			}
		}
	})
}

func FuzzParseSPS(f *testing.F) {
	for _, s := range realSPS {
		b, _ := hex.DecodeString(s.hex)
		f.Add(b)
	}
	f.Add(spsSpec{profile: 244, chroma: 3, scaling: true, level: 30, widthMBs: 20, heightUnits: 15, frameMBsOnly: true, crop: [4]uint64{1, 0, 0, 1}}.build())
	f.Add(spsSpec{profile: 66, level: 30, pocType: 1, pocOffsets: []int64{1 << 30, 5}, widthMBs: 40, heightUnits: 30}.build())
	f.Fuzz(func(t *testing.T, nal []byte) {
		s, err := ParseSPS(nal)
		if err != nil {
			return
		}
		if s.Width <= 0 || s.Height <= 0 || s.Width > 16*maxMBsPerSide || s.Height > 32*maxMBsPerSide {
			t.Fatalf("ParseSPS(%x) accepted size %dx%d", nal, s.Width, s.Height)
		}
		if len(s.ProfileLevelID()) != 6 {
			t.Fatalf("ProfileLevelID %q", s.ProfileLevelID())
		}
	})
}
