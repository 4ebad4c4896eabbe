package tello

import (
	"errors"
	"testing"
)

func FuzzParseState(f *testing.F) {
	for _, s := range []string{
		realState,
		"mid:-1;x:-100;y:-100;z:-100;mpry:0,0,0;pitch:0;roll:0;yaw:0;vgx:0;vgy:0;vgz:0;templ:0;temph:0;tof:0;h:0;bat:0;baro:0.00;time:0;agx:0.00;agy:0.00;agz:0.00;\r\n",
		"bat:42", "h:1.5;", ";;", "ok", "bat:-1;", "baro:1e400;", "\xff:1",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseState(b)
		if err != nil {
			if !errors.Is(err, ErrBadState) {
				t.Fatalf("error %v does not wrap ErrBadState", err)
			}
			if s != (State{}) {
				t.Fatalf("error with a non-zero state %+v", s)
			}
			return
		}
		if s.Known == 0 {
			t.Fatal("success without a known field")
		}
		if s.Has(FieldBattery) && (s.Battery < 0 || s.Battery > 100) {
			t.Fatalf("battery %d accepted", s.Battery)
		}
	})
}
