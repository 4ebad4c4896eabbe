package tellosim

import "bytes"

// MaxDatagram is the largest video datagram the Tello sends.
const MaxDatagram = 1460

// splitAccessUnits cuts an H.264 Annex-B stream into access units, each
// with its start codes, so the simulator can send one per frame interval.
// A unit starts at an access unit delimiter, SEI, SPS or PPS, or at a slice
// whose first_mb_in_slice is 0, once the unit so far holds a slice.
func splitAccessUnits(b []byte) [][]byte {
	starts := nalStarts(b)
	var aus [][]byte
	auStart, haveSlice := -1, false
	for i, s := range starts {
		hdr := s.payload
		if hdr >= len(b) {
			continue
		}
		typ := b[hdr] & 0x1f
		slice := typ == 1 || typ == 5
		first := slice && hdr+1 < len(b) && b[hdr+1]&0x80 != 0
		opens := typ == 9 || typ == 6 || typ == 7 || typ == 8 || (typ >= 14 && typ <= 18) || first
		if auStart < 0 {
			auStart = s.at
		} else if haveSlice && opens {
			aus = append(aus, b[auStart:s.at])
			auStart, haveSlice = s.at, false
		}
		if slice {
			haveSlice = true
		}
		if i == len(starts)-1 && haveSlice {
			aus = append(aus, b[auStart:])
		}
	}
	return aus
}

type nalStart struct{ at, payload int } // start code offset, NAL header offset

func nalStarts(b []byte) []nalStart {
	var out []nalStart
	for i := 0; i+3 <= len(b); {
		j := bytes.Index(b[i:], []byte{0, 0, 1})
		if j < 0 {
			break
		}
		at := i + j
		if at > 0 && b[at-1] == 0 {
			at-- // four-byte start code
		}
		out = append(out, nalStart{at: at, payload: i + j + 3})
		i += j + 3
	}
	return out
}

// chunks cuts an access unit into datagrams of at most MaxDatagram bytes,
// the way the drone does: anywhere, the last one shorter.
func chunks(au []byte) [][]byte {
	var out [][]byte
	for len(au) > MaxDatagram {
		out = append(out, au[:MaxDatagram])
		au = au[MaxDatagram:]
	}
	if len(au) > 0 {
		out = append(out, au)
	}
	return out
}
