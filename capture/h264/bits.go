package h264

import "errors"

var errShort = errors.New("bitstream ends early")

// bitReader reads an RBSP bit by bit straight from a NAL unit's payload,
// skipping emulation prevention bytes (the 0x03 in 0x000003, section
// 7.4.1.1) as it goes, so that no unescaped copy is needed.
type bitReader struct {
	b     []byte
	i     int  // next byte to load
	zeros int  // consecutive zero bytes just loaded
	cur   byte // byte being read
	left  int  // bits left in cur
}

func (r *bitReader) loadByte() bool {
	if r.i < len(r.b) && r.zeros >= 2 && r.b[r.i] == 3 {
		r.i++
		r.zeros = 0
	}
	if r.i >= len(r.b) {
		return false
	}
	r.cur = r.b[r.i]
	r.i++
	if r.cur == 0 {
		r.zeros++
	} else {
		r.zeros = 0
	}
	r.left = 8
	return true
}

func (r *bitReader) bit() (uint32, error) {
	if r.left == 0 && !r.loadByte() {
		return 0, errShort
	}
	r.left--
	return uint32(r.cur>>r.left) & 1, nil
}

// u reads an n-bit unsigned value, n <= 32 (u(n) in the spec).
func (r *bitReader) u(n int) (uint32, error) {
	var v uint32
	for range n {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		v = v<<1 | b
	}
	return v, nil
}

func (r *bitReader) flag() (bool, error) {
	b, err := r.bit()
	return b == 1, err
}

// ue reads an Exp-Golomb coded unsigned value (ue(v), section 9.1).
func (r *bitReader) ue() (uint32, error) {
	zeros := 0
	for {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		if b == 1 {
			break
		}
		zeros++
		if zeros > 31 {
			return 0, errors.New("Exp-Golomb code longer than 32 bits")
		}
	}
	rest, err := r.u(zeros)
	if err != nil {
		return 0, err
	}
	return uint32((uint64(1)<<zeros)-1) + rest, nil
}

// se reads a signed Exp-Golomb value (se(v), section 9.1.1).
func (r *bitReader) se() (int32, error) {
	k, err := r.ue()
	if err != nil {
		return 0, err
	}
	if k&1 == 1 {
		return int32((int64(k) + 1) / 2), nil
	}
	return int32(-(int64(k) / 2)), nil
}
