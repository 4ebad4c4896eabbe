package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/camd-project/camd/encode"
	"github.com/camd-project/camd/hw/serial"
	"github.com/camd-project/camd/hw/v4l2"
)

// devices lists what camd can use on this machine: V4L2 cameras and
// memory-to-memory encoders and decoders (formats, sizes, frame rates,
// controls), whether the software encoder is built in, and serial ports.
func devices(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	devs, verr := v4l2.Enumerate()
	ports, serr := serial.List()
	if *asJSON {
		out := struct {
			Video    []v4l2.DeviceInfo `json:"video"`
			VideoErr string            `json:"video_error,omitempty"`
			Software bool              `json:"software_encoder"`
			Serial   []serial.PortInfo `json:"serial"`
			Err      string            `json:"serial_error,omitempty"`
		}{Video: devs, Software: encode.SoftwareBuiltIn(), Serial: ports}
		if verr != nil {
			out.VideoErr = verr.Error()
		}
		if serr != nil {
			out.Err = serr.Error()
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	if verr != nil {
		fmt.Fprintf(stdout, "video devices: %v\n", verr)
	} else if len(devs) == 0 {
		fmt.Fprintln(stdout, "video devices: none (no /dev/video*; is the camera connected and its driver loaded?)")
	} else if err := v4l2.WriteTable(stdout, devs); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	sw := "not built in (this binary was built without cgo)"
	if encode.SoftwareBuiltIn() {
		sw = "openh264 (built in)"
	}
	fmt.Fprintf(stdout, "\nsoftware H.264 encoder: %s\n\nserial ports:\n", sw)
	switch {
	case serr != nil:
		fmt.Fprintf(stdout, "  %v\n", serr)
	case len(ports) == 0:
		fmt.Fprintln(stdout, "  none")
	}
	for _, p := range ports {
		if p.USB {
			fmt.Fprintf(stdout, "  %-24s usb %s:%s %s %s %s\n", p.Path, p.VID, p.PID, p.SerialNumber, p.Manufacturer, p.Product)
		} else {
			fmt.Fprintf(stdout, "  %s\n", p.Path)
		}
	}
	return 0
}
