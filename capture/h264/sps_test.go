package h264

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// SPS NAL units from ffmpeg 5.1 with libx264 (see testdata/README.md); the
// sizes and profiles are what ffprobe reported for each stream.
var realSPS = []struct {
	name, hex     string
	width, height int
	profile       uint8
	chroma        uint32
	frameMBsOnly  bool
	pli           string
	cb            bool
}{
	{"baseline 320x240", "6742c00dd90141fb0110000003001000000303c0f142a480", 320, 240, 66, 1, true, "42c00d", true},
	{"main 640x360", "674d401eeca05017fcb80880000003008000001e078b16cb", 640, 360, 77, 1, true, "4d401e", false},
	{"high 1920x1080", "67640028acd940780227e5c044000003000400000300f03c60c658", 1920, 1080, 100, 1, true, "640028", false},
	{"high scaling matrix 1280x720", "6764001facd9405005bb0110000003001000000303c0f1831960", 1280, 720, 100, 1, true, "64001f", false},
	{"high 10 426x240", "676e0015a6cd941b1fe4f0110000030001000003003c0f162d96", 426, 240, 110, 1, true, "6e0015", false},
	{"high 4:2:2 352x288", "677a000dbcd9416096c044000003000400000300f03c50a658", 352, 288, 122, 2, true, "7a000d", false},
	{"high 4:4:4 318x202", "67f4000d919b282837dcf80880000003008000001e078a14cb", 318, 202, 244, 3, true, "f4000d", false},
	{"interlaced 720x576", "6764001facd940b424d80880000003008000001e0f8b16cb", 720, 576, 100, 1, false, "64001f", false},
}

func TestParseSPSReal(t *testing.T) {
	for _, tt := range realSPS {
		t.Run(tt.name, func(t *testing.T) {
			nal, _ := hex.DecodeString(tt.hex)
			s, err := ParseSPS(nal)
			if err != nil {
				t.Fatal(err)
			}
			if s.Width != tt.width || s.Height != tt.height {
				t.Errorf("size %dx%d, want %dx%d", s.Width, s.Height, tt.width, tt.height)
			}
			if s.ProfileIDC != tt.profile || s.ChromaFormatIDC != tt.chroma || s.FrameMBsOnly != tt.frameMBsOnly {
				t.Errorf("profile %d chroma %d frame_mbs_only %v, want %d %d %v", s.ProfileIDC, s.ChromaFormatIDC, s.FrameMBsOnly, tt.profile, tt.chroma, tt.frameMBsOnly)
			}
			if got := s.ProfileLevelID(); got != tt.pli {
				t.Errorf("ProfileLevelID = %q, want %q", got, tt.pli)
			}
			if got := s.IsConstrainedBaseline(); got != tt.cb {
				t.Errorf("IsConstrainedBaseline = %v, want %v", got, tt.cb)
			}
		})
	}
}

func TestParseSPSFixture(t *testing.T) {
	for _, nal := range SplitNALs(readFixture(t)) {
		if TypeOf(nal) != TypeSPS {
			continue
		}
		s, err := ParseSPS(nal)
		if err != nil {
			t.Fatal(err)
		}
		// ffprobe: Constrained Baseline, level 13, 320x240.
		if s.Width != 320 || s.Height != 240 || s.LevelIDC != 13 || !s.IsConstrainedBaseline() {
			t.Errorf("fixture SPS %+v, want constrained baseline 320x240 level 13", s)
		}
		return
	}
	t.Fatal("no SPS in fixture")
}

// bitWriter builds RBSPs for synthetic parameter sets.
type bitWriter struct {
	b    []byte
	nbit int
}

func (w *bitWriter) u(n int, v uint64) {
	for i := n - 1; i >= 0; i-- {
		if w.nbit%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>i&1 == 1 {
			w.b[len(w.b)-1] |= 0x80 >> (w.nbit % 8)
		}
		w.nbit++
	}
}

func (w *bitWriter) flag(f bool) {
	if f {
		w.u(1, 1)
	} else {
		w.u(1, 0)
	}
}

func (w *bitWriter) ue(v uint64) {
	v++
	n := 0
	for v>>n > 1 {
		n++
	}
	w.u(n, 0)
	w.u(n+1, v)
}

func (w *bitWriter) se(v int64) {
	if v > 0 {
		w.ue(uint64(2*v - 1))
	} else {
		w.ue(uint64(-2 * v))
	}
}

// nal adds the RBSP trailing bits, escapes the payload (section 7.4.1.1)
// and prefixes the header byte.
func (w *bitWriter) nal(header byte) []byte {
	w.u(1, 1)
	out := []byte{header}
	zeros := 0
	for _, c := range w.b {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

type spsSpec struct {
	profile, constraints, level uint8
	chroma                      uint64
	separate                    bool
	scaling                     bool
	pocType                     uint64
	pocOffsets                  []int64
	widthMBs, heightUnits       uint64
	frameMBsOnly                bool
	crop                        [4]uint64
}

func (p spsSpec) build() []byte {
	var w bitWriter
	w.u(8, uint64(p.profile))
	w.u(8, uint64(p.constraints))
	w.u(8, uint64(p.level))
	w.ue(3) // seq_parameter_set_id
	if highProfiles[p.profile] {
		w.ue(p.chroma)
		if p.chroma == 3 {
			w.flag(p.separate)
		}
		w.ue(2) // bit_depth_luma_minus8
		w.ue(2) // bit_depth_chroma_minus8
		w.flag(false)
		w.flag(p.scaling)
		if p.scaling {
			lists := 8
			if p.chroma == 3 {
				lists = 12
			}
			for i := range lists {
				w.flag(i%2 == 0)
				if i%2 == 0 {
					size := 16
					if i >= 6 {
						size = 64
					}
					for j := range size {
						w.se(int64(j%5) - 2) // never zero: the list runs to its end
					}
				}
			}
		}
	}
	w.ue(4) // log2_max_frame_num_minus4
	w.ue(p.pocType)
	switch p.pocType {
	case 0:
		w.ue(2)
	case 1:
		w.flag(true)
		w.se(-5)
		w.se(7)
		w.ue(uint64(len(p.pocOffsets)))
		for _, o := range p.pocOffsets {
			w.se(o)
		}
	}
	w.ue(2) // max_num_ref_frames
	w.flag(false)
	w.ue(p.widthMBs - 1)
	w.ue(p.heightUnits - 1)
	w.flag(p.frameMBsOnly)
	if !p.frameMBsOnly {
		w.flag(true)
	}
	w.flag(true)
	cropping := p.crop != [4]uint64{}
	w.flag(cropping)
	if cropping {
		for _, c := range p.crop {
			w.ue(c)
		}
	}
	w.flag(false) // vui_parameters_present_flag
	return w.nal(0x67)
}

func TestParseSPSSynthetic(t *testing.T) {
	tests := []struct {
		name          string
		spec          spsSpec
		width, height int
	}{
		{"baseline 1280x720", spsSpec{profile: 66, constraints: 0xe0, level: 31, widthMBs: 80, heightUnits: 45, frameMBsOnly: true}, 1280, 720},
		{"1080 crop", spsSpec{profile: 77, constraints: 0x40, level: 40, widthMBs: 120, heightUnits: 68, frameMBsOnly: true, crop: [4]uint64{0, 0, 0, 4}}, 1920, 1080},
		{"monochrome crop in pixels", spsSpec{profile: 100, chroma: 0, level: 30, widthMBs: 20, heightUnits: 15, frameMBsOnly: true, crop: [4]uint64{1, 2, 3, 4}}, 317, 233},
		{"4:2:2 crop", spsSpec{profile: 122, chroma: 2, level: 30, widthMBs: 20, heightUnits: 15, frameMBsOnly: true, crop: [4]uint64{1, 1, 1, 1}}, 316, 238},
		{"4:4:4 scaling lists", spsSpec{profile: 244, chroma: 3, scaling: true, level: 30, widthMBs: 20, heightUnits: 15, frameMBsOnly: true, crop: [4]uint64{1, 0, 0, 1}}, 319, 239},
		{"4:4:4 separate planes", spsSpec{profile: 244, chroma: 3, separate: true, level: 30, widthMBs: 20, heightUnits: 15, frameMBsOnly: true, crop: [4]uint64{3, 0, 0, 0}}, 317, 240},
		{"field coding crop", spsSpec{profile: 100, chroma: 1, level: 30, widthMBs: 45, heightUnits: 17, crop: [4]uint64{0, 0, 0, 2}}, 720, 536},
		{"scaling lists 4:2:0", spsSpec{profile: 100, chroma: 1, scaling: true, level: 31, widthMBs: 80, heightUnits: 45, frameMBsOnly: true}, 1280, 720},
		// Offsets this large code as 31 zero bits and force emulation
		// prevention bytes in the middle of the fields ParseSPS reads.
		{"poc type 1 with escapes", spsSpec{profile: 66, constraints: 0x40, level: 30, pocType: 1, pocOffsets: []int64{1 << 30, -(1 << 30), 3}, widthMBs: 40, heightUnits: 30, frameMBsOnly: true}, 640, 480},
		{"poc type 2", spsSpec{profile: 66, level: 30, pocType: 2, widthMBs: 40, heightUnits: 30, frameMBsOnly: true}, 640, 480},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nal := tt.spec.build()
			s, err := ParseSPS(nal)
			if err != nil {
				t.Fatalf("ParseSPS(%x): %v", nal, err)
			}
			if s.Width != tt.width || s.Height != tt.height {
				t.Errorf("size %dx%d, want %dx%d", s.Width, s.Height, tt.width, tt.height)
			}
			if s.ID != 3 || s.Log2MaxFrameNum != 8 || s.MaxNumRefFrames != 2 || s.PicOrderCntType != uint32(tt.spec.pocType) {
				t.Errorf("id %d log2_max_frame_num %d max_num_ref_frames %d poc type %d: fields after the variable part misread", s.ID, s.Log2MaxFrameNum, s.MaxNumRefFrames, s.PicOrderCntType)
			}
			if highProfiles[tt.spec.profile] && (s.BitDepthLuma != 10 || s.ChromaFormatIDC != uint32(tt.spec.chroma)) {
				t.Errorf("bit depth %d chroma %d, want 10 %d", s.BitDepthLuma, s.ChromaFormatIDC, tt.spec.chroma)
			}
			if strings.HasPrefix(tt.name, "poc type 1") && !bytes.Contains(nal, []byte{0, 0, 3}) {
				t.Errorf("test SPS %x has no emulation prevention byte", nal)
			}
		})
	}
}

func TestParseSPSErrors(t *testing.T) {
	good := spsSpec{profile: 100, chroma: 1, scaling: true, level: 31, pocType: 1, pocOffsets: []int64{1, 2}, widthMBs: 80, heightUnits: 45, frameMBsOnly: true, crop: [4]uint64{0, 0, 0, 4}}.build()
	// Every truncation fails cleanly; the last byte only holds trailing
	// bits, so stop before it.
	for n := range len(good) - 1 {
		if _, err := ParseSPS(good[:n]); err == nil {
			t.Errorf("ParseSPS of %d of %d bytes succeeded", n, len(good))
		}
	}
	bad := map[string][]byte{
		"not an SPS":         append([]byte{0x68}, good[1:]...),
		"crop whole picture": spsSpec{profile: 66, level: 30, widthMBs: 2, heightUnits: 2, frameMBsOnly: true, crop: [4]uint64{8, 8, 0, 0}}.build(),
		"too wide":           spsSpec{profile: 66, level: 30, widthMBs: 5000, heightUnits: 2, frameMBsOnly: true}.build(),
		"chroma format 4":    spsSpec{profile: 100, chroma: 4, level: 30, widthMBs: 2, heightUnits: 2, frameMBsOnly: true}.build(),
		"poc type 3":         spsSpec{profile: 66, level: 30, pocType: 3, widthMBs: 2, heightUnits: 2, frameMBsOnly: true}.build(),
		"long zero run":      append([]byte{0x67, 66, 0, 30}, make([]byte, 20)...),
	}
	for name, nal := range bad {
		if s, err := ParseSPS(nal); err == nil {
			t.Errorf("%s: ParseSPS(%x) = %+v, want an error", name, nal, s)
		}
	}
}

func TestIsConstrainedBaseline(t *testing.T) {
	for pli, want := range map[string]bool{
		"42e01f": true, "42c01f": true, "42401f": true, "42001f": false, "42f01f": true,
		"4d001f": false, "4d801f": true, "58c01e": true, "58801e": false, "640c1f": false,
		"42481f": false,
	} {
		b, _ := hex.DecodeString(pli)
		s := SPS{ProfileIDC: b[0], Constraints: b[1], LevelIDC: b[2]}
		if got := s.IsConstrainedBaseline(); got != want {
			t.Errorf("%s: IsConstrainedBaseline = %v, want %v", pli, got, want)
		}
		if got := s.ProfileLevelID(); got != pli {
			t.Errorf("ProfileLevelID = %q, want %q", got, pli)
		}
	}
}
