package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestDevicesOutput runs "camd devices" on this machine, which may have no
// camera at all: both forms must work and say what was found.
func TestDevicesOutput(t *testing.T) {
	var out, errb bytes.Buffer
	if code := realMain([]string{"devices"}, &out, &errb); code != 0 {
		t.Fatalf("camd devices: exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"video devices", "software H.264 encoder:", "serial ports:"} {
		if !strings.Contains(out.String(), want) && !(want == "video devices" && strings.Contains(out.String(), "PATH")) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := realMain([]string{"devices", "-json"}, &out, &errb); code != 0 {
		t.Fatalf("camd devices -json: exit %d: %s", code, errb.String())
	}
	var v struct {
		Software *bool `json:"software_encoder"`
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || v.Software == nil {
		t.Fatalf("camd devices -json: %v\n%s", err, out.String())
	}
}
