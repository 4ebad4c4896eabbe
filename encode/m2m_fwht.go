package encode

import (
	"encoding/binary"
	"fmt"
)

// FWHTHeader is the header of a picture in vicodec's FWHT format
// (struct fwht_cframe_hdr in the kernel's
// drivers/media/test-drivers/vicodec/codec-fwht.h): two magic words, then
// big-endian fields. camd encodes FWHT only to prove the M2M encoder
// against vicodec.
type FWHTHeader struct {
	Version       uint32
	Width, Height uint32
	Flags         uint32
	Colorspace    uint32
	XferFunc      uint32
	YCbCrEnc      uint32
	Quantization  uint32
	Size          uint32 // bytes of compressed data after the header
}

// FWHTHeaderSize is the size of the header in front of every picture.
const FWHTHeaderSize = 44

const (
	fwhtMagic1 = 0x4f4f4f4f
	fwhtMagic2 = 0xffffffff
	// fwhtIFrame is V4L2_FWHT_FL_I_FRAME: the picture is intra-coded.
	fwhtIFrame = 1 << 10
)

// ParseFWHT reads the header of one FWHT picture and checks that the data
// it announces is there.
func ParseFWHT(b []byte) (FWHTHeader, error) {
	if len(b) < FWHTHeaderSize {
		return FWHTHeader{}, fmt.Errorf("FWHT picture of %d bytes, the header alone is %d: %w", len(b), FWHTHeaderSize, ErrBitstream)
	}
	if binary.LittleEndian.Uint32(b[0:]) != fwhtMagic1 || binary.LittleEndian.Uint32(b[4:]) != fwhtMagic2 {
		return FWHTHeader{}, fmt.Errorf("FWHT picture without magic (% x): %w", b[:8], ErrBitstream)
	}
	be := binary.BigEndian
	h := FWHTHeader{
		Version: be.Uint32(b[8:]), Width: be.Uint32(b[12:]), Height: be.Uint32(b[16:]),
		Flags: be.Uint32(b[20:]), Colorspace: be.Uint32(b[24:]), XferFunc: be.Uint32(b[28:]),
		YCbCrEnc: be.Uint32(b[32:]), Quantization: be.Uint32(b[36:]), Size: be.Uint32(b[40:]),
	}
	if h.Version == 0 || h.Version > 3 {
		return h, fmt.Errorf("FWHT version %d, want 1 to 3: %w", h.Version, ErrBitstream)
	}
	if uint64(len(b)) < FWHTHeaderSize+uint64(h.Size) {
		return h, fmt.Errorf("FWHT header announces %d bytes of data, %d follow: %w", h.Size, len(b)-FWHTHeaderSize, ErrBitstream)
	}
	return h, nil
}

// IFrame reports whether the picture is intra-coded (decodable alone).
func (h FWHTHeader) IFrame() bool { return h.Flags&fwhtIFrame != 0 }
