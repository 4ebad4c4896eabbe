package serial

import (
	"errors"
	"strings"
	"testing"
)

// withPorts makes List see ports for the rest of the test.
func withPorts(t *testing.T, ports ...PortInfo) {
	old := listPorts
	listPorts = func() ([]PortInfo, error) { return append([]PortInfo(nil), ports...), nil }
	t.Cleanup(func() { listPorts = old })
}

func TestResolve(t *testing.T) {
	withPorts(t,
		PortInfo{Path: "/dev/ttyUSB1", USB: true, VID: "1a86", PID: "7523", SerialNumber: ""},
		PortInfo{Path: "/dev/ttyACM0", USB: true, VID: "2341", PID: "0043", SerialNumber: "A1"},
		PortInfo{Path: "/dev/ttyACM1", USB: true, VID: "2341", PID: "0043", SerialNumber: "B2"},
		PortInfo{Path: "/dev/ttyS0"},
	)
	for _, tc := range []struct {
		c    Config
		want string
		err  error
	}{
		{Config{Path: "/dev/serial/by-id/x"}, "/dev/serial/by-id/x", nil},
		{Config{VID: "1A86", PID: "7523"}, "/dev/ttyUSB1", nil},
		{Config{VID: "2341", PID: "0043", SerialNumber: "B2"}, "/dev/ttyACM1", nil},
		{Config{VID: "2341", PID: "0043"}, "", ErrAmbiguous},
		{Config{VID: "2341", PID: "0043", SerialNumber: "C3"}, "", ErrNotFound},
		{Config{VID: "0403", PID: "6001"}, "", ErrNotFound},
		{Config{VID: "0403"}, "", ErrBadConfig},
	} {
		got, err := Resolve(tc.c)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Resolve(%v) = %q, %v; want %q, %v", tc.c, got, err, tc.want, tc.err)
		}
	}
	ps, err := List()
	if err != nil || len(ps) != 4 || ps[0].Path != "/dev/ttyACM0" || ps[3].Path != "/dev/ttyUSB1" {
		t.Fatalf("List = %+v, %v (want sorted by path)", ps, err)
	}
	// Opening by USB ids goes through the same lookup, and never reaches
	// openPort when it fails.
	if _, _, err := Open(Config{VID: "2341", PID: "0043"}); !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), "/dev/ttyACM0, /dev/ttyACM1") {
		t.Fatalf("Open: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	good := []Config{
		{Path: "/dev/ttyUSB0"},
		{VID: "2341", PID: "0043", SerialNumber: "x"},
		{Path: "/dev/ttyAMA0", Baud: 9600, DataBits: 7, Parity: EvenParity, StopBits: 2},
	}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v): %v", c, err)
		}
	}
	bad := []Config{
		{},
		{Path: "/dev/ttyUSB0", VID: "2341", PID: "0043"},
		{VID: "23411", PID: "0043"},
		{VID: "zzzz", PID: "0043"},
		{Path: "/dev/ttyUSB0", Baud: 10},
		{Path: "/dev/ttyUSB0", DataBits: 9},
		{Path: "/dev/ttyUSB0", Parity: 9},
		{Path: "/dev/ttyUSB0", StopBits: 3},
	}
	for _, c := range bad {
		if err := c.Validate(); !errors.Is(err, ErrBadConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrBadConfig", c, err)
		}
	}
	if s := (Config{VID: "2341", PID: "0043", SerialNumber: "A1"}).String(); s != "usb 2341:0043 A1" {
		t.Errorf("String = %q", s)
	}
}
