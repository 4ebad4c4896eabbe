package serial

import (
	"testing"

	"go.bug.st/serial/enumerator"
)

func TestPortInfos(t *testing.T) {
	got := portInfos([]*enumerator.PortDetails{
		nil,
		{Name: "/dev/ttyUSB0", IsUSB: true, VID: "1A86", PID: "7523", SerialNumber: "s", Manufacturer: "m", Product: "p"},
		{Name: "/dev/ttyS0"},
		{},
	})
	want := []PortInfo{
		{Path: "/dev/ttyUSB0", USB: true, VID: "1a86", PID: "7523", SerialNumber: "s", Manufacturer: "m", Product: "p"},
		{Path: "/dev/ttyS0"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("portInfos = %+v, want %+v", got, want)
	}
}
