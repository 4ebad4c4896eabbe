package h264

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxAccessUnitSize bounds the access unit an AccessUnitSplitter gathers,
// so that a stream without boundaries cannot grow memory without end.
const MaxAccessUnitSize = 8 << 20

// ErrAccessUnitTooLarge is returned by AccessUnitSplitter.Write when an
// access unit grows past MaxAccessUnitSize; the splitter drops it and
// carries on with the next one.
var ErrAccessUnitTooLarge = errors.New("h264: access unit too large")

// auState tracks the access unit being gathered and decides where the next
// one starts. The rules are those of section 7.4.1.2.3, reduced to what a
// stream without arbitrary slice order needs: after a picture's slices, an
// AUD, SPS, PPS, SEI or a type 14 to 18 NAL unit starts a new access unit,
// and so does a slice with first_mb_in_slice equal to 0. Anything after an
// end of sequence or end of stream starts one too. An access unit always
// holds at least one slice; NAL units before the first slice stay with it.
type auState struct {
	in     bool // an access unit has started
	start  int  // where it starts (its first start code)
	hasVCL bool
	ended  bool
}

func (st *auState) boundary(t NALType, firstMB bool) bool {
	if !st.in || !st.hasVCL {
		return false
	}
	switch {
	case st.ended:
		return true
	case t == TypeAUD, t == TypeSPS, t == TypePPS, t == TypeSEI, t >= 14 && t <= 18:
		return true
	case t.IsVCL():
		return firstMB
	}
	return false
}

// add records a NAL unit of type t whose start code begins at begin,
// returning true if it starts a new access unit.
func (st *auState) add(t NALType, firstMB bool, begin int) bool {
	split := st.boundary(t, firstMB)
	if split || !st.in {
		*st = auState{in: true, start: begin}
	}
	if t.IsVCL() {
		st.hasVCL = true
	}
	if t == TypeEndOfSequence || t == TypeEndOfStream {
		st.ended = true
	}
	return split
}

// nalAt classifies the NAL unit whose start code (0x000001) is at sc in b.
// ok is false when the byte after the start code is zero, which is no NAL
// header but the zero_byte of a following start code or stuffing.
// complete is false when b ends before the bytes needed.
func nalAt(b []byte, sc int, atEOF bool) (t NALType, firstMB, ok, complete bool) {
	h := sc + 3
	if h >= len(b) {
		return 0, false, false, false
	}
	if b[h] == 0 {
		return 0, false, false, true
	}
	t = NALType(b[h] & 0x1f)
	if t.IsVCL() {
		if h+1 >= len(b) {
			return t, false, true, atEOF
		}
		// first_mb_in_slice is ue(v); its first bit is 1 only for 0.
		firstMB = b[h+1]&0x80 != 0
	}
	return t, firstMB, true, true
}

// startCodeBegin returns where the start code at sc begins, including the
// zero_byte of a 4-byte start code.
func startCodeBegin(b []byte, sc int) int {
	if sc > 0 && b[sc-1] == 0 {
		return sc - 1
	}
	return sc
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// SplitAccessUnits splits a whole Annex-B stream into access units, each a
// sub-slice of b from its first start code to the end of its last NAL unit.
// Bytes before the first start code are left out, and so is a final group
// of NAL units with no slice (parameter sets with no picture after them).
func SplitAccessUnits(b []byte) [][]byte {
	var (
		aus [][]byte
		st  auState
		pos int
	)
	end := len(b)
	for {
		i := bytes.Index(b[pos:], startCode)
		if i < 0 {
			break
		}
		sc := pos + i
		begin := startCodeBegin(b, sc)
		t, firstMB, ok, _ := nalAt(b, sc, true)
		if !ok {
			if sc+3 >= len(b) {
				end = begin // a start code with nothing after it
				break
			}
			pos = sc + 3
			continue
		}
		prev := st.start
		if st.add(t, firstMB, begin) {
			aus = append(aus, trimZeros(b[prev:begin]))
		}
		pos = sc + 4
	}
	if st.hasVCL {
		aus = append(aus, trimZeros(b[st.start:end]))
	}
	return aus
}

// AccessUnitSplitter gathers access units from an Annex-B byte stream that
// arrives in arbitrary pieces (reads from a file or a pipe, UDP datagrams).
// Write the bytes in, take complete access units out with Next, and call
// Flush at the end of the stream for the last one. An access unit is known
// to be complete when the first NAL unit of the next one begins, so it
// comes out as soon as that NAL unit's first two bytes have arrived.
//
// The zero value is ready to use. An AccessUnitSplitter is not safe for
// concurrent use.
type AccessUnitSplitter struct {
	buf  []byte
	scan int // where the search for the next start code resumes
	// A start code found whose NAL unit is not classified yet.
	pending      bool
	pendingSC    int
	pendingBegin int

	st   auState
	out  [][]byte
	head int // next in out for Next
}

// Write adds stream bytes. It returns ErrAccessUnitTooLarge (wrapped) when
// an access unit outgrows MaxAccessUnitSize; that unit is dropped and the
// splitter resynchronises on the next start code.
func (s *AccessUnitSplitter) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	s.process(false)
	if s.st.in && len(s.buf)-s.st.start > MaxAccessUnitSize {
		keep := s.buf[len(s.buf)-3:]
		s.buf = append(s.buf[:0], keep...)
		s.scan, s.pending, s.st = 0, false, auState{}
		return len(p), fmt.Errorf("h264.AccessUnitSplitter.Write: %w (over %d bytes)", ErrAccessUnitTooLarge, MaxAccessUnitSize)
	}
	s.compact()
	return len(p), nil
}

// Next returns the next complete access unit, which the caller owns.
func (s *AccessUnitSplitter) Next() ([]byte, bool) {
	if s.head == len(s.out) {
		s.out, s.head = s.out[:0], 0
		return nil, false
	}
	au := s.out[s.head]
	s.out[s.head] = nil
	s.head++
	return au, true
}

// Flush ends the stream: the access unit being gathered is complete and
// Next returns it. The splitter is then ready for a new stream.
func (s *AccessUnitSplitter) Flush() {
	s.process(true)
	end := len(s.buf)
	if s.pending {
		end = s.pendingBegin // a start code with no NAL unit after it
	}
	if s.st.hasVCL {
		s.emit(end)
	}
	s.buf, s.scan, s.pending, s.st = s.buf[:0], 0, false, auState{}
}

func (s *AccessUnitSplitter) process(atEOF bool) {
	for {
		if s.pending {
			t, firstMB, ok, complete := nalAt(s.buf, s.pendingSC, atEOF)
			if !complete {
				return
			}
			s.pending = false
			if !ok {
				s.scan = s.pendingSC + 3
				continue
			}
			prev := s.st.start
			if s.st.add(t, firstMB, s.pendingBegin) {
				s.emitRange(prev, s.pendingBegin)
			}
			s.scan = s.pendingSC + 4
		}
		i := bytes.Index(s.buf[s.scan:], startCode)
		if i < 0 {
			// The last two bytes may begin a start code.
			s.scan = max(s.scan, len(s.buf)-2)
			return
		}
		sc := s.scan + i
		s.pending, s.pendingSC, s.pendingBegin = true, sc, startCodeBegin(s.buf, sc)
	}
}

func (s *AccessUnitSplitter) emit(end int) { s.emitRange(s.st.start, end) }

func (s *AccessUnitSplitter) emitRange(start, end int) {
	s.out = append(s.out, bytes.Clone(trimZeros(s.buf[start:end])))
}

// compact drops bytes no longer needed once they make up half the buffer.
func (s *AccessUnitSplitter) compact() {
	keep := max(s.scan-1, 0) // the byte before scan may be a zero_byte
	if s.pending {
		keep = min(keep, s.pendingBegin)
	}
	if s.st.in {
		keep = min(keep, s.st.start)
	}
	if keep == 0 || keep < len(s.buf)/2 {
		return
	}
	n := copy(s.buf, s.buf[keep:])
	s.buf = s.buf[:n]
	s.scan -= keep
	s.pendingSC -= keep
	s.pendingBegin -= keep
	s.st.start -= keep
}
