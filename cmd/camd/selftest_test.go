package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camd-project/camd/hw/v4l2"
)

func camera(path, driver, card string, formats ...string) v4l2.DeviceInfo {
	d := v4l2.DeviceInfo{Path: path, Kind: v4l2.KindCamera}
	d.Driver, d.Card = driver, card
	for _, f := range formats {
		d.Capture = append(d.Capture, v4l2.FormatInfo{FourCC: f})
	}
	return d
}

func encoder(path, card string, formats ...string) v4l2.DeviceInfo {
	d := camera(path, "bcm2835-codec", card, formats...)
	d.Kind = v4l2.KindEncoder
	return d
}

// find returns the first result about what at lv, or fails.
func find(t *testing.T, rs []result, what string, lv level) result {
	t.Helper()
	for _, r := range rs {
		if r.what == what && r.level == lv {
			return r
		}
	}
	t.Fatalf("no %s result about %s in %+v", lv, what, rs)
	return result{}
}

func noneAt(t *testing.T, rs []result, lv level) {
	t.Helper()
	for _, r := range rs {
		if r.level == lv {
			t.Errorf("unexpected %s: %+v", lv, r)
		}
	}
}

func wantFix(t *testing.T, r result, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.fix, p) {
			t.Errorf("fix %q lacks %q", r.fix, p)
		}
	}
}

func TestSelftestGroups(t *testing.T) {
	denied := &facts{uid: 1000, user: "pi", groups: []string{"pi"}, access: map[string]error{
		"/dev/video0": fmt.Errorf("open /dev/video0: %w", fs.ErrPermission), "/dev/video11": nil}}
	wantFix(t, find(t, checkGroups(denied), "user", levelFail), "sudo usermod -aG video $USER")

	member := &facts{uid: 1000, user: "pi", groups: []string{"pi", "video"}, access: map[string]error{"/dev/video0": nil}}
	noneAt(t, checkGroups(member), levelFail)
	noneAt(t, checkGroups(member), levelWarn)

	// Cameras may open through a desktop's ACLs; the warning says why the
	// group still matters.
	outside := &facts{uid: 1000, user: "pi", groups: []string{"pi"}, access: map[string]error{}}
	wantFix(t, find(t, checkGroups(outside), "user", levelWarn), "usermod -aG video")

	serial := &facts{uid: 1000, user: "pi", groups: []string{"pi", "video"}, serialPort: "/dev/ttyUSB0"}
	wantFix(t, find(t, checkGroups(serial), "user", levelWarn), "usermod -aG dialout $USER")

	service := &facts{uid: 0, serviceUser: []string{"camd", "video"}}
	r := find(t, checkGroups(service), "service user", levelFail)
	wantFix(t, r, "sudo usermod -aG dialout camd", "systemctl restart camd")
	service.serviceUser = []string{"camd", "video", "dialout"}
	noneAt(t, checkGroups(service), levelFail)
}

func TestSelftestCameras(t *testing.T) {
	const pi4 = "Raspberry Pi 4 Model B Rev 1.4"
	cases := []struct {
		name string
		f    facts
		lv   level
		fix  []string
	}{
		{"pi, nothing enabled", facts{source: "auto", board: pi4, bootConfig: "/boot/firmware/config.txt", bootKeys: map[string]string{"gpu_mem": "76"}},
			levelWarn, []string{"start_x=1 and gpu_mem=128 to /boot/firmware/config.txt", "camera_auto_detect=1"}},
		{"pi, libcamera stack", facts{source: "auto", board: pi4, bootConfig: "/boot/config.txt", bootKeys: map[string]string{"camera_auto_detect": "1"},
			devices: []v4l2.DeviceInfo{camera("/dev/video0", "unicam", "unicam", "pRAA", "GREY")}},
			levelWarn, []string{"libcamera", `source.kind = "exec"`, "start_x=1"}},
		{"pi, firmware stack, driver not loaded", facts{source: "v4l2", board: pi4, bootKeys: map[string]string{"start_x": "1"}, modules: map[string]bool{}},
			levelFail, []string{"sudo modprobe bcm2835-v4l2", "ribbon cable"}},
		{"pi, firmware stack, no camera", facts{source: "auto", board: pi4, bootKeys: map[string]string{"start_x": "1"}, modules: map[string]bool{"bcm2835_v4l2": true}},
			levelWarn, []string{"ribbon cable"}},
		{"pi 5", facts{source: "auto", board: "Raspberry Pi 5 Model B Rev 1.0"}, levelWarn, []string{"rpicam-vid"}},
		{"laptop, v4l2 asked for", facts{source: "v4l2"}, levelFail, []string{"USB (UVC) camera", "dmesg"}},
		{"laptop, enumeration failed", facts{source: "v4l2", enumErr: errors.New("v4l2.Enumerate: v4l2: video devices need Linux")}, levelFail, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := checkCameras(&c.f)
			last := rs[len(rs)-1]
			if last.level != c.lv {
				t.Fatalf("level %s, want %s: %+v", last.level, c.lv, rs)
			}
			wantFix(t, last, c.fix...)
		})
	}

	webcam := facts{source: "auto", devices: []v4l2.DeviceInfo{camera("/dev/video0", "uvcvideo", "HD Pro Webcam C920", "YUYV", "MJPG", "H264")}}
	rs := checkCameras(&webcam)
	if len(rs) != 1 || rs[0].level != levelOK || !strings.Contains(rs[0].detail, "HD Pro Webcam C920 (YUYV MJPG H264)") {
		t.Errorf("a webcam: %+v", rs)
	}
	pattern := facts{source: "pattern"}
	noneAt(t, checkCameras(&pattern), levelWarn)
	noneAt(t, checkCameras(&pattern), levelFail)
}

func TestSelftestEncoders(t *testing.T) {
	const pi4 = "Raspberry Pi 4 Model B Rev 1.4"
	codec := encoder("/dev/video11", "bcm2835-codec-encode", "H264")
	ok := facts{source: "auto", board: pi4, devices: []v4l2.DeviceInfo{codec}}
	rs := checkEncoders(&ok)
	noneAt(t, rs, levelFail)
	noneAt(t, rs, levelWarn)
	if r := find(t, rs, "encoder", levelOK); !strings.Contains(r.detail, "/dev/video11: bcm2835-codec-encode (H264)") {
		t.Errorf("encoder line: %q", r.detail)
	}

	missing := facts{source: "auto", board: pi4, modules: map[string]bool{}}
	wantFix(t, find(t, checkEncoders(&missing), "encoder", levelFail), "sudo modprobe bcm2835-codec")
	missing.modules["bcm2835_codec"] = true
	wantFix(t, find(t, checkEncoders(&missing), "encoder", levelFail), "gpu_mem")
	missing.software = true
	wantFix(t, find(t, checkEncoders(&missing), "encoder", levelWarn), "gpu_mem")

	pi5 := facts{source: "auto", board: "Raspberry Pi 5 Model B Rev 1.0", software: true}
	wantFix(t, find(t, checkEncoders(&pi5), "encoder", levelInfo), "the Pi 5 has no H.264 encoder")

	laptop := facts{source: "auto"}
	wantFix(t, find(t, checkEncoders(&laptop), "encoder", levelFail), "CGO_ENABLED=1")
	laptop.software = true
	noneAt(t, checkEncoders(&laptop), levelFail)

	vicodec := facts{source: "auto", devices: []v4l2.DeviceInfo{encoder("/dev/video2", "vicodec-encoder", "FWHT")}}
	find(t, checkEncoders(&vicodec), "encoder", levelFail) // FWHT is not H.264

	for _, src := range []string{"file", "exec", "tello"} {
		h264 := facts{source: src}
		noneAt(t, checkEncoders(&h264), levelFail)
	}
}

func TestSelftestSerial(t *testing.T) {
	if rs := checkSerial(&facts{}); rs != nil {
		t.Errorf("no port configured: %+v", rs)
	}
	denied := facts{serialPort: "/dev/ttyUSB0", serialErr: fmt.Errorf("%w: serial.Open: permission denied", fs.ErrPermission)}
	wantFix(t, find(t, checkSerial(&denied), "serial", levelFail), "dialout")
	gone := facts{serialPort: "USB 1a86:7523", serialErr: errors.New("serial.Resolve: not found")}
	find(t, checkSerial(&gone), "serial", levelWarn)
	fine := facts{serialPort: "/dev/ttyUSB0"}
	find(t, checkSerial(&fine), "serial", levelOK)
}

func TestPiGeneration(t *testing.T) {
	for model, want := range map[string]int{
		"Raspberry Pi Zero W Rev 1.1":         0,
		"Raspberry Pi Zero 2 W Rev 1.0":       3,
		"Raspberry Pi 3 Model B Plus Rev 1.3": 3,
		"Raspberry Pi 4 Model B Rev 1.4":      4,
		"Raspberry Pi Compute Module 4 Rev 1": 4,
		"Raspberry Pi 5 Model B Rev 1.0":      5,
		"Radxa ROCK 5B":                       -1,
		"":                                    -1,
	} {
		if got := (&facts{board: model}).pi(); got != want {
			t.Errorf("%q: %d, want %d", model, got, want)
		}
	}
}

func TestParseFirmwareConfig(t *testing.T) {
	got := parseFirmwareConfig("# camera\n#camera_auto_detect=1\nstart_x=1\ngpu_mem=64 # too little\n[pi4]\ngpu_mem = 128\n")
	if got["start_x"] != "1" || got["gpu_mem"] != "128" || got["camera_auto_detect"] != "" {
		t.Errorf("%v", got)
	}
}

// TestSelftestRun runs the whole selftest on this machine with the H.264
// file source (no camera or encoder needed): the capture line reports the
// frames that went through, and the exit code agrees with the report.
func TestSelftestRun(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "camd.toml")
	clip, _ := filepath.Abs("../../capture/testdata/testsrc-320x240.h264")
	text := fmt.Sprintf("listen = \"127.0.0.1:0\"\n[source]\nkind = \"file\"\npath = %q\nfps = 25\n[webrtc]\nudp_port = 0\n[mdns]\nenabled = false\n", clip)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := selftest([]string{"-config", cfg, "-duration", "1s"}, &out, &errOut)
	report := out.String()
	if want := map[bool]int{true: 1, false: 0}[strings.Contains(report, "FAIL")]; code != want {
		t.Errorf("exit %d, want %d:\n%s%s", code, want, report, errOut.String())
	}
	var capture string
	for _, line := range strings.Split(report, "\n") {
		if strings.Contains(line, " capture ") && strings.Contains(line, "fps for") {
			capture = line
		}
	}
	if !strings.HasPrefix(strings.TrimSpace(capture), "ok") || !strings.Contains(capture, "passthrough") {
		t.Errorf("capture line %q in:\n%s%s", capture, report, errOut.String())
	}

	out.Reset()
	if code := selftest([]string{"-config", cfg, "-duration", "1s", "-file", filepath.Join(dir, "missing.h264")}, &out, &errOut); code != 1 {
		t.Errorf("a missing file: exit %d, want 1:\n%s", code, out.String())
	}
	if code := selftest([]string{"-config", filepath.Join(dir, "nope.toml")}, &out, &errOut); code != 2 {
		t.Errorf("a missing config: exit %d, want 2", code)
	}
}
