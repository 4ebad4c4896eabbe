package h264

import (
	"bytes"
	"strconv"
)

// NALType is nal_unit_type, the low five bits of a NAL unit's first byte
// (H.264 section 7.4.1, table 7-1).
type NALType uint8

// NAL unit types camd looks at.
const (
	TypeSlice         NALType = 1  // coded slice of a non-IDR picture
	TypeIDR           NALType = 5  // coded slice of an IDR picture
	TypeSEI           NALType = 6  // supplemental enhancement information
	TypeSPS           NALType = 7  // sequence parameter set
	TypePPS           NALType = 8  // picture parameter set
	TypeAUD           NALType = 9  // access unit delimiter
	TypeEndOfSequence NALType = 10 // end of sequence
	TypeEndOfStream   NALType = 11 // end of stream
	TypeFiller        NALType = 12 // filler data
)

var typeNames = [...]string{
	TypeSlice:         "slice",
	2:                 "slice-a",
	3:                 "slice-b",
	4:                 "slice-c",
	TypeIDR:           "IDR",
	TypeSEI:           "SEI",
	TypeSPS:           "SPS",
	TypePPS:           "PPS",
	TypeAUD:           "AUD",
	TypeEndOfSequence: "end-of-sequence",
	TypeEndOfStream:   "end-of-stream",
	TypeFiller:        "filler",
}

func (t NALType) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "nal-" + strconv.Itoa(int(t))
}

// IsVCL reports whether the type carries slice data (types 1 to 5).
func (t NALType) IsVCL() bool { return t >= 1 && t <= 5 }

// TypeOf returns the type of a NAL unit given without its start code, or 0
// for an empty one.
func TypeOf(nal []byte) NALType {
	if len(nal) == 0 {
		return 0
	}
	return NALType(nal[0] & 0x1f)
}

var startCode = []byte{0, 0, 1}

// NextNAL finds the first NAL unit in the Annex-B bytes b. It returns the
// unit without its start code and without trailing zero bytes, and the rest
// of b starting at the next start code. Bytes before the first start code
// are skipped. When b holds no further NAL unit, nal is nil.
//
// NextNAL does not allocate; nal and rest share b's memory.
func NextNAL(b []byte) (nal, rest []byte) {
	for {
		i := bytes.Index(b, startCode)
		if i < 0 {
			return nil, nil
		}
		b = b[i+3:]
		end := bytes.Index(b, startCode)
		if end < 0 {
			end = len(b)
		}
		nal, rest = b[:end], b[end:]
		// The zero_byte of a 4-byte start code and trailing_zero_8bits
		// belong to no NAL unit; a NAL unit never ends in 0x00.
		for len(nal) > 0 && nal[len(nal)-1] == 0 {
			nal = nal[:len(nal)-1]
		}
		if len(nal) > 0 {
			return nal, rest
		}
		b = rest
	}
}

// SplitNALs splits Annex-B bytes at their 3- and 4-byte start codes and
// returns the NAL units without start codes, as sub-slices of b. Empty units
// and bytes before the first start code are left out.
func SplitNALs(b []byte) [][]byte {
	return AppendNALs(nil, b)
}

// AppendNALs is SplitNALs appending to dst, so that a caller can reuse one
// slice across calls.
func AppendNALs(dst [][]byte, b []byte) [][]byte {
	for {
		var nal []byte
		nal, b = NextNAL(b)
		if nal == nil {
			return dst
		}
		dst = append(dst, nal)
	}
}

// IsKeyframe reports whether the access unit au (Annex-B) holds a slice of
// an IDR picture, from which a decoder can start.
func IsKeyframe(au []byte) bool {
	return Contains(au, TypeIDR)
}

// Contains reports whether the Annex-B bytes b hold a NAL unit of type t.
func Contains(b []byte, t NALType) bool {
	for {
		var nal []byte
		nal, b = NextNAL(b)
		if nal == nil {
			return false
		}
		if TypeOf(nal) == t {
			return true
		}
	}
}
