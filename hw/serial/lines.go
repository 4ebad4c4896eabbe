package serial

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Invalid says what line mode does with a line that is not valid UTF-8
// (line noise, a wrong baud rate, a binary protocol).
type Invalid int

// The choices for invalid lines.
const (
	// InvalidPass delivers the line's bytes unchanged.
	InvalidPass Invalid = iota
	// InvalidReplace replaces each invalid sequence with U+FFFD.
	InvalidReplace
	// InvalidDrop drops the line and counts it (Stats.Dropped).
	InvalidDrop
)

var invalidNames = []string{"pass", "replace", "drop"}

func (v Invalid) String() string {
	if v >= 0 && int(v) < len(invalidNames) {
		return invalidNames[v]
	}
	return fmt.Sprintf("invalid(%d)", int(v))
}

// ParseInvalid reads "pass", "replace" or "drop" ("" is pass).
func ParseInvalid(s string) (Invalid, error) {
	if s == "" {
		return InvalidPass, nil
	}
	for i, n := range invalidNames {
		if s == n {
			return Invalid(i), nil
		}
	}
	return 0, fmt.Errorf("serial.ParseInvalid: %w: %q, want pass, replace or drop", ErrBadConfig, s)
}

// lineSplitter cuts a byte stream into lines. A line ends at '\n'; the
// '\n' and a '\r' before it are not part of it. A line longer than max
// bytes is delivered in pieces of at most max bytes, cut between UTF-8
// sequences (nothing is lost, memory stays bounded). Empty lines are
// skipped.
type lineSplitter struct {
	max     int
	invalid Invalid
	buf     []byte
	dropped uint64
	emit    func([]byte)
}

func newLineSplitter(max int, invalid Invalid, emit func([]byte)) *lineSplitter {
	return &lineSplitter{max: max, invalid: invalid, buf: make([]byte, 0, max), emit: emit}
}

// feed takes the next bytes off the port.
func (s *lineSplitter) feed(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		for len(chunk) > 0 { // fill the buffer; a full buffer is a piece
			n := min(len(chunk), s.max-len(s.buf))
			s.buf = append(s.buf, chunk[:n]...)
			chunk = chunk[n:]
			if len(s.buf) == s.max {
				s.cut()
			}
		}
		if i < 0 {
			return
		}
		s.flush()
		p = p[i+1:]
	}
}

// flush delivers a partial line, for when the port goes away.
func (s *lineSplitter) flush() {
	s.deliver(bytes.TrimSuffix(s.buf, []byte{'\r'}))
	s.buf = s.buf[:0]
}

// cut delivers a full buffer as a piece of a long line. A UTF-8 sequence
// cut short at the end stays for the next piece, so that a long valid line
// gives valid pieces.
func (s *lineSplitter) cut() {
	n := len(s.buf)
	for j := n - 1; j >= 0 && j >= n-utf8.UTFMax; j-- {
		if utf8.RuneStart(s.buf[j]) {
			if j > 0 && !utf8.FullRune(s.buf[j:]) {
				n = j
			}
			break
		}
	}
	s.deliver(s.buf[:n])
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
}

// deliver hands one line to emit, after the invalid UTF-8 policy.
func (s *lineSplitter) deliver(line []byte) {
	if len(line) == 0 {
		return
	}
	if !utf8.Valid(line) {
		switch s.invalid {
		case InvalidDrop:
			s.dropped++
			return
		case InvalidReplace:
			line = bytes.ToValidUTF8(line, []byte("\uFFFD"))
		}
	}
	s.emit(bytes.Clone(line))
}
