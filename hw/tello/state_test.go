package tello

import (
	"errors"
	"testing"
)

const realState = "pitch:0;roll:-1;yaw:12;vgx:0;vgy:0;vgz:0;templ:62;temph:65;tof:10;h:0;bat:87;baro:163.42;time:0;agx:-3.00;agy:2.00;agz:-999.00;\r\n"

func TestParseStateReal(t *testing.T) {
	s, err := ParseState([]byte(realState))
	if err != nil {
		t.Fatal(err)
	}
	want := State{Roll: -1, Yaw: 12, TempLow: 62, TempHigh: 65, TOF: 10, Battery: 87, Baro: 163.42, AGX: -3, AGY: 2, AGZ: -999}
	want.Known = s.Known
	if s != want {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	all := FieldPitch | FieldRoll | FieldYaw | FieldVGX | FieldVGY | FieldVGZ | FieldTempLow | FieldTempHigh |
		FieldTOF | FieldHeight | FieldBattery | FieldBaro | FieldMotorTime | FieldAGX | FieldAGY | FieldAGZ
	if s.Known != all {
		t.Fatalf("Known %b, want %b", s.Known, all)
	}
}

func TestParseStateTolerates(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		check    func(State) bool
	}{
		{"mission pad fields", "mid:-1;x:-100;y:-100;z:-100;mpry:0,0,0;pitch:3;bat:50;\r\n",
			func(s State) bool {
				return s.Pad == -1 && s.PadX == -100 && s.Pitch == 3 && s.Battery == 50 && s.Has(FieldPad|FieldBattery)
			}},
		{"unknown keys", "foo:bar;h:120;zzz:;\r\n", func(s State) bool { return s.Height == 120 && s.Known == FieldHeight }},
		{"blank space", "  h : 30 ;  bat:\t9 ;\n", func(s State) bool { return s.Height == 30 && s.Battery == 9 }},
		{"missing fields", "h:5;", func(s State) bool { return !s.Has(FieldBattery) && s.Battery == 0 }},
		{"no trailing semicolon", "bat:42", func(s State) bool { return s.Battery == 42 }},
		{"empty parts", ";;bat:1;;", func(s State) bool { return s.Battery == 1 }},
		{"fraction in an integer field", "h:12.6;", func(s State) bool { return s.Height == 13 }},
		{"negative zero", "pitch:-0;", func(s State) bool { return s.Pitch == 0 && s.Has(FieldPitch) }},
	} {
		s, err := ParseState([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !tc.check(s) {
			t.Errorf("%s: %+v", tc.name, s)
		}
	}
}

func TestParseStateRejectsGarbage(t *testing.T) {
	for _, in := range []string{
		"",
		"\r\n",
		"ok",
		"error Not joystick",
		"foo:1;bar:2;",             // nothing known
		"bat:ninety;",              // bad integer
		"baro:NaN;",                // not finite
		"agx:+Inf;",                // not finite
		"h:1e300;",                 // absurd
		"bat:250;",                 // out of range
		"pitch:1;garbage;",         // a part without a colon
		"h\x00:1;",                 // a key with a control byte
		"\xff\xfe:1;",              // not ASCII
		string(make([]byte, 3000)), // too long
	} {
		s, err := ParseState([]byte(in))
		if !errors.Is(err, ErrBadState) {
			t.Errorf("ParseState(%q) = %+v, %v; want ErrBadState", in, s, err)
		}
	}
}
