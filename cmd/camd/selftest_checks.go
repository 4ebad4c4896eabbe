package main

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/camd-project/camd/hw/v4l2"
)

// level grades one selftest line. A fail means camd will not work as
// configured; selftest then exits 1.
type level int

const (
	levelOK level = iota
	levelInfo
	levelWarn
	levelFail
)

func (l level) String() string {
	return [...]string{"ok", "--", "WARN", "FAIL"}[l]
}

// result is one line of the selftest report, with what to do about it.
type result struct {
	level  level
	what   string
	detail string
	fix    string
}

// facts is what selftest found out about the machine; the checks below
// turn them into results, so that tests can feed them made-up machines.
type facts struct {
	uid         int
	user        string
	groups      []string // of this process
	serviceUser []string // groups of the camd system user; nil when there is none

	board      string            // /proc/device-tree/model, e.g. "Raspberry Pi 4 Model B Rev 1.4"
	bootConfig string            // the firmware's config.txt, when found
	bootKeys   map[string]string // its active key=value lines
	modules    map[string]bool   // loaded kernel modules

	devices []v4l2.DeviceInfo
	enumErr error            // from v4l2.Enumerate
	access  map[string]error // opening each /dev/video* read-write

	software   bool   // openh264 is built in
	source     string // source.kind
	serialPort string // serial.port or serial.usb, "" when none
	serialErr  error  // opening the serial port
}

// formats camd's capture reads from a camera.
var cameraFormats = []string{"YUYV", "NV12", "YU12", "MJPG", "H264"}

func (f *facts) inGroup(g string) bool { return f.uid == 0 || slices.Contains(f.groups, g) }

// pi is the Raspberry Pi generation (0 for the Zero and 1, then 2 … 5),
// or -1 on other boards.
func (f *facts) pi() int {
	m := f.board
	switch {
	case !strings.Contains(m, "Raspberry Pi"):
		return -1
	case strings.Contains(m, "Pi 5") || strings.Contains(m, "Compute Module 5"):
		return 5
	case strings.Contains(m, "Pi 4") || strings.Contains(m, "Compute Module 4") || strings.Contains(m, "Pi 400"):
		return 4
	case strings.Contains(m, "Pi 3") || strings.Contains(m, "Zero 2"):
		return 3
	}
	return 0
}

func (f *facts) bootKey(k string) bool { return f.bootKeys[k] == "1" }

func (f *facts) kind(k string) []v4l2.DeviceInfo {
	var out []v4l2.DeviceInfo
	for _, d := range f.devices {
		if d.Kind == k {
			out = append(out, d)
		}
	}
	return out
}

func fourccs(fs []v4l2.FormatInfo) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.FourCC)
	}
	return out
}

// checkGroups checks that this user and the camd service user can open
// cameras, encoders (group video) and serial ports (group dialout).
func checkGroups(f *facts) []result {
	var out []result
	if f.uid == 0 {
		out = append(out, result{level: levelOK, what: "user", detail: "root: every device opens (the service runs as its own user)"})
	} else {
		r := result{level: levelOK, what: "user", detail: fmt.Sprintf("%s (uid %d), groups: %s", f.user, f.uid, strings.Join(f.groups, " "))}
		denied := deniedNodes(f)
		switch {
		case len(denied) > 0:
			r.level, r.detail = levelFail, fmt.Sprintf("%s cannot open %s", f.user, strings.Join(denied, ", "))
			r.fix = "add the user to the video group: sudo usermod -aG video $USER, then log out and in again"
		case !f.inGroup("video"):
			r.level, r.detail = levelWarn, fmt.Sprintf("%s is not in group video", f.user)
			r.fix = "cameras and encoders belong to group video: sudo usermod -aG video $USER, then log out and in again"
		}
		out = append(out, r)
		if f.serialPort != "" && !f.inGroup("dialout") {
			out = append(out, result{level: levelWarn, what: "user", detail: fmt.Sprintf("%s is not in group dialout", f.user),
				fix: "serial ports belong to group dialout: sudo usermod -aG dialout $USER, then log out and in again"})
		}
	}
	if f.serviceUser != nil {
		var missing []string
		for _, g := range []string{"video", "dialout"} {
			if !slices.Contains(f.serviceUser, g) {
				missing = append(missing, g)
			}
		}
		if len(missing) > 0 {
			out = append(out, result{level: levelFail, what: "service user",
				detail: "camd is not in group " + strings.Join(missing, ", "),
				fix:    "sudo usermod -aG " + strings.Join(missing, ",") + " camd && sudo systemctl restart camd"})
		} else {
			out = append(out, result{level: levelOK, what: "service user", detail: "camd is in groups video and dialout"})
		}
	}
	return out
}

// deniedNodes lists the video nodes this user may not open.
func deniedNodes(f *facts) []string {
	var out []string
	for p, err := range f.access {
		if errors.Is(err, fs.ErrPermission) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// checkCameras lists the cameras and says what to do when there is none
// camd can read. Without one, "auto" falls back to the test pattern (a
// warning); a configured "v4l2" source fails.
func checkCameras(f *facts) []result {
	needed := levelInfo
	switch f.source {
	case "v4l2":
		needed = levelFail
	case "auto":
		needed = levelWarn
	}
	if f.enumErr != nil {
		return []result{{level: needed, what: "camera", detail: f.enumErr.Error()}}
	}
	var out []result
	usable := 0
	for _, d := range f.kind(v4l2.KindCamera) {
		formats := fourccs(d.Capture)
		r := result{level: levelOK, what: "camera", detail: fmt.Sprintf("%s: %s (%s)", d.Path, d.Card, strings.Join(formats, " "))}
		switch {
		case d.Err != "" && len(formats) == 0:
			r.level, r.detail = levelWarn, fmt.Sprintf("%s: %s", d.Path, d.Err)
		case !slices.ContainsFunc(formats, func(s string) bool { return slices.Contains(cameraFormats, s) }):
			r.level = levelWarn
			r.detail += ": none of the formats camd reads (" + strings.Join(cameraFormats, ", ") + ")"
			if f.pi() >= 0 && d.Driver == "unicam" {
				r.fix = "this camera comes raw, for libcamera (camera_auto_detect=1): read it with " +
					`source.kind = "exec" and rpicam-vid, or, for Camera Module v1/v2 and the HQ camera, use the ` +
					"firmware camera stack: start_x=1 and gpu_mem=128 in " + f.bootConfigName() + " instead of camera_auto_detect=1, then reboot"
			}
		default:
			usable++
		}
		out = append(out, r)
	}
	if usable > 0 || needed == levelInfo && len(out) == 0 {
		if len(out) == 0 {
			out = append(out, result{level: levelInfo, what: "camera", detail: "none found (source.kind = " + f.source + " needs none)"})
		}
		return out
	}
	r := result{level: needed, what: "camera", detail: "no camera camd can read"}
	if f.source == "auto" {
		r.detail += "; camd shows the test pattern instead"
	}
	r.fix = f.cameraHint()
	return append(out, r)
}

func (f *facts) bootConfigName() string {
	if f.bootConfig != "" {
		return f.bootConfig
	}
	return "config.txt on the boot partition"
}

// cameraHint says how to get a camera on this board.
func (f *facts) cameraHint() string {
	usb := "plug in a USB (UVC) camera; `dmesg | tail` shows whether the kernel saw it"
	if f.pi() < 0 {
		return usb
	}
	cfg := f.bootConfigName()
	switch {
	case f.pi() == 5:
		return "the Pi 5 runs camera modules only through libcamera: use " +
			`source.kind = "exec" with rpicam-vid, or ` + usb
	case f.bootKey("start_x") && !f.modules["bcm2835_v4l2"]:
		return "the firmware camera stack is on (start_x=1) but its driver is not loaded: sudo modprobe bcm2835-v4l2; " +
			"if that fails, check that the camera's ribbon cable is seated, or " + usb
	case f.bootKey("start_x"):
		return "the firmware camera stack is on but found no camera: check that the ribbon cable is seated " +
			"(contacts toward the board's HDMI side on a Pi 4), or " + usb
	case f.bootKey("camera_auto_detect"):
		return "camera_auto_detect=1 hands the camera to libcamera, which camd cannot read directly: " +
			`use source.kind = "exec" with rpicam-vid, or for Camera Module v1/v2 and the HQ camera put start_x=1 and ` +
			"gpu_mem=128 in " + cfg + " instead, then reboot; or " + usb
	}
	return "for a camera module add start_x=1 and gpu_mem=128 to " + cfg + " and reboot " +
		"(Camera Module 3: camera_auto_detect=1 with libcamera instead), or " + usb
}

// checkEncoders lists the H.264 encoders. Sources that already give
// H.264 (file, exec, tello) need none.
func checkEncoders(f *facts) []result {
	var out []result
	hardware := 0
	for _, d := range f.kind(v4l2.KindEncoder) {
		formats := fourccs(d.Capture)
		r := result{level: levelOK, what: "encoder", detail: fmt.Sprintf("%s: %s (%s)", d.Path, d.Card, strings.Join(formats, " "))}
		if slices.Contains(formats, "H264") {
			hardware++
		} else {
			r.level, r.detail = levelInfo, r.detail+": not H.264"
		}
		out = append(out, r)
	}
	if f.software {
		out = append(out, result{level: levelOK, what: "encoder", detail: "openh264 (software) is built in"})
	} else {
		out = append(out, result{level: levelInfo, what: "encoder", detail: "this build has no software encoder"})
	}
	if hardware > 0 {
		return out
	}
	switch f.source {
	case "file", "exec", "tello":
		return out
	}
	missing := result{level: levelFail, what: "encoder", detail: "no hardware H.264 encoder and no software one: camd cannot encode a camera"}
	if f.software {
		missing = result{level: levelInfo, what: "encoder", detail: "no hardware H.264 encoder: camd encodes in software"}
	}
	switch p := f.pi(); {
	case p == 5:
		missing.fix = "the Pi 5 has no H.264 encoder: use a camd built with the software encoder (make build on the Pi), " +
			`or source.kind = "exec" with rpicam-vid, which encodes itself`
	case p >= 0:
		if missing.level == levelInfo {
			missing.level = levelWarn
		}
		missing.fix = "load the Pi's encoder: sudo modprobe bcm2835-codec (it appears as /dev/video11)"
		if f.modules["bcm2835_codec"] {
			missing.fix = "bcm2835-codec is loaded but offers no encoder: make sure gpu_mem is at least 128 in " + f.bootConfigName() + " and reboot"
		}
	case !f.software:
		missing.fix = "build camd with the software encoder (CGO_ENABLED=1 on amd64, arm64 or ARMv7: make build), " +
			"or use a camera that gives H.264"
	}
	return append(out, missing)
}

// checkSerial checks the configured serial port, if any.
func checkSerial(f *facts) []result {
	if f.serialPort == "" {
		return nil
	}
	r := result{level: levelOK, what: "serial", detail: f.serialPort + " opens"}
	switch {
	case errors.Is(f.serialErr, fs.ErrPermission):
		r.level, r.detail = levelFail, f.serialPort+": "+f.serialErr.Error()
		r.fix = "serial ports belong to group dialout: sudo usermod -aG dialout $USER, then log out and in again"
	case f.serialErr != nil:
		r.level, r.detail = levelWarn, f.serialPort+": "+f.serialErr.Error()
		r.fix = "camd retries until the port appears; ls /dev/serial/by-id lists the USB serial ports"
	}
	return []result{r}
}
