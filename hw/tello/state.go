package tello

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
)

// State is one telemetry report from the drone: the SDK's
// "pitch:%d;roll:%d;yaw:%d;vgx:%d;vgy:%d;vgz:%d;templ:%d;temph:%d;tof:%d;
// h:%d;bat:%d;baro:%.2f;time:%d;agx:%.2f;agy:%.2f;agz:%.2f;" string, sent
// about ten times a second. A field the datagram lacked stays zero and is
// left out of Known, so a missing battery reading is never mistaken for an
// empty battery.
type State struct {
	Pitch, Roll, Yaw      int     // attitude, degrees
	VGX, VGY, VGZ         int     // speed along x, y and z, as the drone reports it
	TempLow, TempHigh     int     // lowest and highest temperature, °C
	TOF                   int     // time-of-flight distance to the ground, cm
	Height                int     // height above the take-off point, cm
	Battery               int     // charge, percent
	Baro                  float64 // barometric altitude, as the drone reports it
	MotorTime             int     // seconds the motors have run ("time")
	AGX, AGY, AGZ         float64 // acceleration, 0.001 g
	Pad, PadX, PadY, PadZ int     // mission pad id and position (EDU firmware; -1 and -100 when none)

	// Known holds the fields the datagram carried.
	Known Fields

	// Received is when the Drone read the datagram and Age how old it was
	// when State was called; both are zero from ParseState and when no
	// telemetry has arrived yet.
	Received time.Time
	Age      time.Duration
}

// Fields is a set of State fields.
type Fields uint32

// The State fields, one bit each.
const (
	FieldPitch Fields = 1 << iota
	FieldRoll
	FieldYaw
	FieldVGX
	FieldVGY
	FieldVGZ
	FieldTempLow
	FieldTempHigh
	FieldTOF
	FieldHeight
	FieldBattery
	FieldBaro
	FieldMotorTime
	FieldAGX
	FieldAGY
	FieldAGZ
	FieldPad
	FieldPadX
	FieldPadY
	FieldPadZ
)

// Has reports whether the state carried every field in f.
func (s State) Has(f Fields) bool { return s.Known&f == f }

// maxStateLen bounds a telemetry datagram; real ones are under 200 bytes.
const maxStateLen = 2048

type stateField struct {
	bit Fields
	i   func(*State) *int
	f   func(*State) *float64
}

var stateFields = map[string]stateField{
	"pitch": {bit: FieldPitch, i: func(s *State) *int { return &s.Pitch }},
	"roll":  {bit: FieldRoll, i: func(s *State) *int { return &s.Roll }},
	"yaw":   {bit: FieldYaw, i: func(s *State) *int { return &s.Yaw }},
	"vgx":   {bit: FieldVGX, i: func(s *State) *int { return &s.VGX }},
	"vgy":   {bit: FieldVGY, i: func(s *State) *int { return &s.VGY }},
	"vgz":   {bit: FieldVGZ, i: func(s *State) *int { return &s.VGZ }},
	"templ": {bit: FieldTempLow, i: func(s *State) *int { return &s.TempLow }},
	"temph": {bit: FieldTempHigh, i: func(s *State) *int { return &s.TempHigh }},
	"tof":   {bit: FieldTOF, i: func(s *State) *int { return &s.TOF }},
	"h":     {bit: FieldHeight, i: func(s *State) *int { return &s.Height }},
	"bat":   {bit: FieldBattery, i: func(s *State) *int { return &s.Battery }},
	"baro":  {bit: FieldBaro, f: func(s *State) *float64 { return &s.Baro }},
	"time":  {bit: FieldMotorTime, i: func(s *State) *int { return &s.MotorTime }},
	"agx":   {bit: FieldAGX, f: func(s *State) *float64 { return &s.AGX }},
	"agy":   {bit: FieldAGY, f: func(s *State) *float64 { return &s.AGY }},
	"agz":   {bit: FieldAGZ, f: func(s *State) *float64 { return &s.AGZ }},
	"mid":   {bit: FieldPad, i: func(s *State) *int { return &s.Pad }},
	"x":     {bit: FieldPadX, i: func(s *State) *int { return &s.PadX }},
	"y":     {bit: FieldPadY, i: func(s *State) *int { return &s.PadY }},
	"z":     {bit: FieldPadZ, i: func(s *State) *int { return &s.PadZ }},
}

// ParseState parses one telemetry datagram. It ignores keys it does not know
// (firmwares add some), blank space around keys, values and the trailing
// "\r\n", and fields that are missing. It returns an error wrapping
// ErrBadState for anything else: a part without a colon, a known key whose
// value is not a finite number, a battery outside 0..100, or a datagram
// without a single known field.
func ParseState(b []byte) (State, error) {
	var s State
	if len(b) > maxStateLen {
		return s, fmt.Errorf("tello.ParseState: %w: %d bytes, want at most %d", ErrBadState, len(b), maxStateLen)
	}
	rest := b
	for len(rest) > 0 {
		var part []byte
		part, rest, _ = bytes.Cut(rest, []byte{';'})
		part = bytes.TrimSpace(part)
		if len(part) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(part, []byte{':'})
		if !ok {
			return State{}, fmt.Errorf("tello.ParseState: %w: %q has no colon", ErrBadState, clip(part))
		}
		key := string(bytes.TrimSpace(k))
		if !printable(key) {
			return State{}, fmt.Errorf("tello.ParseState: %w: bad key %q", ErrBadState, clip(k))
		}
		f, known := stateFields[key]
		if !known {
			continue
		}
		val := string(bytes.TrimSpace(v))
		if f.f != nil {
			x, err := strconv.ParseFloat(val, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return State{}, fmt.Errorf("tello.ParseState: %w: %s:%q is not a number", ErrBadState, key, clip(v))
			}
			*f.f(&s) = x
		} else {
			x, err := parseInt(val)
			if err != nil {
				return State{}, fmt.Errorf("tello.ParseState: %w: %s:%q is not an integer", ErrBadState, key, clip(v))
			}
			*f.i(&s) = x
		}
		s.Known |= f.bit
	}
	if s.Known == 0 {
		return State{}, fmt.Errorf("tello.ParseState: %w: no known field in %q", ErrBadState, clip(b))
	}
	if s.Has(FieldBattery) && (s.Battery < 0 || s.Battery > 100) {
		return State{}, fmt.Errorf("tello.ParseState: %w: battery %d%% outside 0..100", ErrBadState, s.Battery)
	}
	return s, nil
}

// parseInt takes an integer, or a finite number that some firmwares print
// with a fraction, rounded.
func parseInt(v string) (int, error) {
	if n, err := strconv.Atoi(v); err == nil && n > -1e9 && n < 1e9 {
		return n, nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= 1e9 {
		return 0, fmt.Errorf("bad integer %q", v)
	}
	return int(math.Round(x)), nil
}

func printable(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// clip shortens b for an error message.
func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
