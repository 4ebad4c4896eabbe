package h264

import (
	"errors"
	"fmt"
)

// SPS holds the fields of a sequence parameter set (section 7.3.2.1.1)
// that camd uses. VUI parameters are not parsed.
type SPS struct {
	ProfileIDC uint8
	// Constraints is the byte after profile_idc: constraint_set0_flag in
	// the top bit down to constraint_set5_flag, then two reserved bits.
	Constraints uint8
	LevelIDC    uint8
	ID          uint32 // seq_parameter_set_id

	ChromaFormatIDC     uint32 // 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4
	SeparateColour      bool   // separate_colour_plane_flag
	BitDepthLuma        uint32 // 8 unless a high profile says otherwise
	BitDepthChroma      uint32
	Log2MaxFrameNum     uint32
	PicOrderCntType     uint32
	MaxNumRefFrames     uint32
	FrameMBsOnly        bool // false for interlaced (field or MBAFF) coding
	PicWidthInMBs       uint32
	PicHeightInMapUnits uint32
	// Crop offsets as coded, in crop units (see section 7.4.2.1.1).
	CropLeft, CropRight, CropTop, CropBottom uint32

	// Width and Height are the displayed picture size in pixels, after
	// frame cropping.
	Width, Height int
}

// Limits that keep a hostile SPS from producing absurd sizes: a level 6.2
// picture is at most 139,264 macroblocks, which no side exceeds 1,100 of.
const maxMBsPerSide = 2048

// highProfiles lists the profile_idc values whose SPS carries
// chroma_format_idc and the fields after it (section 7.3.2.1.1).
var highProfiles = map[uint8]bool{
	100: true, 110: true, 122: true, 244: true, 44: true, 83: true,
	86: true, 118: true, 128: true, 138: true, 139: true, 134: true, 135: true,
}

// ParseSPS parses a sequence parameter set NAL unit, given with its
// one-byte header and without a start code, as SplitNALs returns it.
func ParseSPS(nal []byte) (SPS, error) {
	var s SPS
	if len(nal) < 4 {
		return s, fmt.Errorf("h264.ParseSPS: %d bytes is too short for an SPS", len(nal))
	}
	if t := TypeOf(nal); t != TypeSPS {
		return s, fmt.Errorf("h264.ParseSPS: NAL unit type %d (%v), want %d (SPS)", t, t, TypeSPS)
	}
	r := bitReader{b: nal[1:]}
	if err := s.parse(&r); err != nil {
		return SPS{}, fmt.Errorf("h264.ParseSPS: %w", err)
	}
	return s, nil
}

func (s *SPS) parse(r *bitReader) error {
	v, err := r.u(24)
	if err != nil {
		return err
	}
	s.ProfileIDC, s.Constraints, s.LevelIDC = uint8(v>>16), uint8(v>>8), uint8(v)
	if s.ID, err = r.ue(); err != nil {
		return err
	}
	if s.ID > 31 {
		return fmt.Errorf("seq_parameter_set_id %d > 31", s.ID)
	}
	s.ChromaFormatIDC, s.BitDepthLuma, s.BitDepthChroma = 1, 8, 8
	if highProfiles[s.ProfileIDC] {
		if err := s.parseHigh(r); err != nil {
			return err
		}
	}
	if v, err = r.ue(); err != nil {
		return err
	}
	if v > 12 {
		return fmt.Errorf("log2_max_frame_num_minus4 %d > 12", v)
	}
	s.Log2MaxFrameNum = v + 4
	if err := s.parsePOC(r); err != nil {
		return err
	}
	if s.MaxNumRefFrames, err = r.ue(); err != nil {
		return err
	}
	if _, err = r.flag(); err != nil { // gaps_in_frame_num_value_allowed_flag
		return err
	}
	if err := s.parseSize(r); err != nil {
		return err
	}
	return nil
}

func (s *SPS) parseHigh(r *bitReader) error {
	var err error
	if s.ChromaFormatIDC, err = r.ue(); err != nil {
		return err
	}
	if s.ChromaFormatIDC > 3 {
		return fmt.Errorf("chroma_format_idc %d > 3", s.ChromaFormatIDC)
	}
	if s.ChromaFormatIDC == 3 {
		if s.SeparateColour, err = r.flag(); err != nil {
			return err
		}
	}
	for _, depth := range []*uint32{&s.BitDepthLuma, &s.BitDepthChroma} {
		v, err := r.ue()
		if err != nil {
			return err
		}
		if v > 6 {
			return fmt.Errorf("bit_depth_minus8 %d > 6", v)
		}
		*depth = v + 8
	}
	if _, err = r.flag(); err != nil { // qpprime_y_zero_transform_bypass_flag
		return err
	}
	matrix, err := r.flag() // seq_scaling_matrix_present_flag
	if err != nil || !matrix {
		return err
	}
	lists := 8
	if s.ChromaFormatIDC == 3 {
		lists = 12
	}
	for i := range lists {
		present, err := r.flag()
		if err != nil {
			return err
		}
		if !present {
			continue
		}
		size := 16
		if i >= 6 {
			size = 64
		}
		if err := skipScalingList(r, size); err != nil {
			return err
		}
	}
	return nil
}

// skipScalingList reads past scaling_list() (section 7.3.2.1.1.1).
func skipScalingList(r *bitReader, size int) error {
	last, next := int32(8), int32(8)
	for range size {
		if next != 0 {
			delta, err := r.se()
			if err != nil {
				return err
			}
			if delta < -128 || delta > 127 {
				return fmt.Errorf("delta_scale %d out of range", delta)
			}
			next = (last + delta + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
	return nil
}

func (s *SPS) parsePOC(r *bitReader) error {
	var err error
	if s.PicOrderCntType, err = r.ue(); err != nil {
		return err
	}
	switch s.PicOrderCntType {
	case 0:
		v, err := r.ue() // log2_max_pic_order_cnt_lsb_minus4
		if err != nil {
			return err
		}
		if v > 12 {
			return fmt.Errorf("log2_max_pic_order_cnt_lsb_minus4 %d > 12", v)
		}
	case 1:
		if _, err = r.flag(); err != nil { // delta_pic_order_always_zero_flag
			return err
		}
		for range 2 { // offset_for_non_ref_pic, offset_for_top_to_bottom_field
			if _, err = r.se(); err != nil {
				return err
			}
		}
		n, err := r.ue()
		if err != nil {
			return err
		}
		if n > 255 {
			return fmt.Errorf("num_ref_frames_in_pic_order_cnt_cycle %d > 255", n)
		}
		for range n {
			if _, err = r.se(); err != nil {
				return err
			}
		}
	case 2:
	default:
		return fmt.Errorf("pic_order_cnt_type %d > 2", s.PicOrderCntType)
	}
	return nil
}

func (s *SPS) parseSize(r *bitReader) error {
	w, err := r.ue()
	if err != nil {
		return err
	}
	h, err := r.ue()
	if err != nil {
		return err
	}
	if w >= maxMBsPerSide || h >= maxMBsPerSide {
		return fmt.Errorf("picture of %dx%d macroblocks is too large", w+1, h+1)
	}
	s.PicWidthInMBs, s.PicHeightInMapUnits = w+1, h+1
	if s.FrameMBsOnly, err = r.flag(); err != nil {
		return err
	}
	if !s.FrameMBsOnly {
		if _, err = r.flag(); err != nil { // mb_adaptive_frame_field_flag
			return err
		}
	}
	if _, err = r.flag(); err != nil { // direct_8x8_inference_flag
		return err
	}
	crop, err := r.flag()
	if err != nil {
		return err
	}
	if crop {
		for _, p := range []*uint32{&s.CropLeft, &s.CropRight, &s.CropTop, &s.CropBottom} {
			if *p, err = r.ue(); err != nil {
				return err
			}
		}
	}
	return s.computeSize()
}

// computeSize applies frame cropping (section 7.4.2.1.1, equations 7-19
// to 7-22).
func (s *SPS) computeSize() error {
	fieldFactor := uint64(1)
	if !s.FrameMBsOnly {
		fieldFactor = 2
	}
	cropX, cropY := uint64(1), fieldFactor
	if s.ChromaFormatIDC != 0 && !s.SeparateColour {
		subW, subH := uint64(2), uint64(2)
		if s.ChromaFormatIDC == 3 {
			subW = 1
		}
		if s.ChromaFormatIDC != 1 {
			subH = 1
		}
		cropX, cropY = subW, subH*fieldFactor
	}
	w := uint64(s.PicWidthInMBs) * 16
	h := uint64(s.PicHeightInMapUnits) * 16 * fieldFactor
	cw := cropX * (uint64(s.CropLeft) + uint64(s.CropRight))
	ch := cropY * (uint64(s.CropTop) + uint64(s.CropBottom))
	if cw >= w || ch >= h {
		return errors.New("frame cropping removes the whole picture")
	}
	s.Width, s.Height = int(w-cw), int(h-ch)
	return nil
}

// ProfileLevelID returns profile_idc, the constraint flags and level_idc
// as six hex digits, as SDP's profile-level-id has them (RFC 6184 section
// 8.1), e.g. "42e01f".
func (s SPS) ProfileLevelID() string {
	const hex = "0123456789abcdef"
	b := []byte{s.ProfileIDC, s.Constraints, s.LevelIDC}
	out := make([]byte, 0, 6)
	for _, c := range b {
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}

// IsConstrainedBaseline reports whether the stream conforms to the
// Constrained Baseline profile, the one every WebRTC browser decodes. The
// test follows RFC 6184 table 5: profile_idc 66 with constraint_set1, 77
// with constraint_set0, or 88 with constraint_set0 and constraint_set1,
// and constraint_set4 and 5 clear in each case.
func (s SPS) IsConstrainedBaseline() bool {
	c := s.Constraints
	switch s.ProfileIDC {
	case 66:
		return c&0x4f == 0x40
	case 77:
		return c&0x8f == 0x80
	case 88:
		return c&0xcf == 0xc0
	}
	return false
}
