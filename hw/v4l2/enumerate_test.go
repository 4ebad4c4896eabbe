package v4l2_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/camd-project/camd/hw/v4l2"
	"github.com/camd-project/camd/hw/v4l2/v4l2test"
)

// The paths rec-devices enumerated in the VM: vivid's capture, output and
// metadata nodes, vicodec's encoder and decoder, the loopback.
var recordedPaths = []string{"/dev/video0", "/dev/video1", "/dev/video2", "/dev/video3", "/dev/video4", "/dev/video5", "/dev/video40"}

func enumerateRecorded(t *testing.T) []v4l2.DeviceInfo {
	t.Helper()
	p := v4l2test.Load(t, "testdata/devices.json.gz")
	return v4l2.EnumerateWith(p.Open, recordedPaths)
}

func find(devs []v4l2.DeviceInfo, path string) v4l2.DeviceInfo {
	for _, d := range devs {
		if d.Path == path {
			return d
		}
	}
	return v4l2.DeviceInfo{}
}

func TestEnumerateRecorded(t *testing.T) {
	devs := enumerateRecorded(t)
	if len(devs) != len(recordedPaths) {
		t.Fatalf("%d devices, want %d", len(devs), len(recordedPaths))
	}
	cam := find(devs, "/dev/video0")
	if cam.Kind != v4l2.KindCamera || cam.Driver != "vivid" || cam.Err != "" {
		t.Fatalf("video0: %s %s err %q, want vivid camera", cam.Kind, cam.Driver, cam.Err)
	}
	if len(cam.Inputs) != 4 || cam.Inputs[3].Capabilities&v4l2.InputCapDVTimings == 0 {
		t.Errorf("vivid inputs %+v, want 4 with DV timings on the HDMI one", cam.Inputs)
	}
	var yuyv *v4l2.FormatInfo
	for i := range cam.Capture {
		if cam.Capture[i].PixelFormat == v4l2.PixYUYV {
			yuyv = &cam.Capture[i]
		}
	}
	if yuyv == nil || len(yuyv.Sizes) != 6 {
		t.Fatalf("vivid YUYV: %+v, want 6 webcam sizes", yuyv)
	}
	s := yuyv.Sizes[2] // 640x480, intervals down to 1/25 s
	last := s.Intervals[len(s.Intervals)-1]
	if s.MinWidth != 640 || s.MinHeight != 480 || last.Min.FPS() != 25 {
		t.Errorf("vivid YUYV size 2: %dx%d up to %v fps, want 640x480 up to 25", s.MinWidth, s.MinHeight, last.Min.FPS())
	}

	enc := find(devs, "/dev/video4")
	if enc.Kind != v4l2.KindEncoder || enc.Driver != "vicodec" || len(enc.Capture) != 1 || enc.Capture[0].FourCC != "FWHT" {
		t.Fatalf("video4: %s %s %+v, want vicodec encoder producing FWHT", enc.Kind, enc.Driver, enc.Capture)
	}
	gop := false
	for _, c := range enc.Controls {
		if c.ID == v4l2.CIDGOPSize {
			gop = c.Min == 1 && c.Max == 16 && c.Default == 10
		}
	}
	if !gop {
		t.Errorf("vicodec controls %+v lack GOP size 1..16 default 10", enc.Controls)
	}
	if dec := find(devs, "/dev/video5"); dec.Kind != v4l2.KindDecoder {
		t.Errorf("video5 is %s, want decoder", dec.Kind)
	}
	if out := find(devs, "/dev/video1"); out.Kind != v4l2.KindOutput {
		t.Errorf("video1 is %s, want output", out.Kind)
	}
	if lb := find(devs, "/dev/video40"); lb.Driver != "v4l2 loopback" || lb.Card != "camd-loopback" {
		t.Errorf("video40: %q %q, want the loopback", lb.Driver, lb.Card)
	}
}

func TestWriteTableAndJSON(t *testing.T) {
	devs := enumerateRecorded(t)
	var table bytes.Buffer
	if err := v4l2.WriteTable(&table, devs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`/dev/video0  camera   vivid "vivid" platform:vivid-000`,
		"    input 3  HDMI 0 (DV timings)",
		"    format   YUYV YUYV 4:2:2: 320x180@1,2,4,5,10,12.5,15,25,30,40,50,60;",
		`/dev/video4  encoder  vicodec "vicodec" platform:vicodec`,
		"    out      FWHT FWHT, compressed: 640x360..4096x2160",
		"    control  Video GOP Size: 1..16 step 1 default 10",
	} {
		if !strings.Contains(table.String(), want+"\n") && !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
	var js bytes.Buffer
	if err := v4l2.WriteJSON(&js, devs); err != nil {
		t.Fatal(err)
	}
	var back []v4l2.DeviceInfo
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != len(devs) || back[4].Kind != v4l2.KindEncoder || back[4].Capture[0].FourCC != "FWHT" {
		t.Errorf("JSON round trip lost the encoder: %+v", back[4])
	}
	if !strings.Contains(js.String(), `"bus_info": "platform:vicodec"`) {
		t.Error("JSON lacks bus_info")
	}
}
