package v4l2

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Device kinds, as DeviceInfo.Kind names them.
const (
	KindCamera  = "camera"  // captures video: a camera, a capture bridge, a loopback's reader side
	KindEncoder = "encoder" // M2M: raw pictures in, a compressed stream out
	KindDecoder = "decoder" // M2M: a compressed stream in, raw pictures out
	KindM2M     = "m2m"     // M2M converting raw to raw (scalers, ISPs)
	KindOutput  = "output"  // takes video only (a display, a loopback's writer side)
	KindOther   = "other"   // metadata and everything else
)

// DeviceInfo describes a device node for `camd devices`.
type DeviceInfo struct {
	Path  string   `json:"path"`
	Links []string `json:"links,omitempty"` // stable names: /dev/v4l/by-id/…, by-path/…
	Kind  string   `json:"kind"`
	Capability
	// Capture lists what the device produces: a camera's formats, an
	// encoder's streams, a decoder's pictures. Output lists what an M2M
	// device or output takes.
	Capture []FormatInfo `json:"capture,omitempty"`
	Output  []FormatInfo `json:"output,omitempty"`
	Inputs  []Input      `json:"inputs,omitempty"`
	// Controls are listed for M2M devices (bitrate, profile, GOP, …) and
	// cameras.
	Controls []Control `json:"controls,omitempty"`
	// Err says what went wrong asking the device, when something did.
	Err string `json:"error,omitempty"`
}

// FormatInfo is a pixel format with its frame sizes and frame rates.
type FormatInfo struct {
	FormatDesc
	FourCC     string     `json:"fourcc"`
	Compressed bool       `json:"compressed"`
	Sizes      []SizeInfo `json:"sizes,omitempty"`
}

// SizeInfo is a frame size (or range) with its frame intervals.
type SizeInfo struct {
	FrameSize
	Intervals []FrameInterval `json:"intervals,omitempty"`
}

// fmtFlagCompressed is V4L2_FMT_FLAG_COMPRESSED.
const fmtFlagCompressed = 0x1

// Enumerate describes every video device node (/dev/video*), in node
// order. A node that cannot be opened or asked is listed with Err set.
func Enumerate() ([]DeviceInfo, error) {
	if err := supported(); err != nil {
		return nil, fmt.Errorf("v4l2.Enumerate: %w", err)
	}
	paths, err := filepath.Glob("/dev/video*")
	if err != nil {
		return nil, fmt.Errorf("v4l2.Enumerate: %w", err)
	}
	SortPaths(paths)
	links := stableLinks()
	out := EnumerateWith(OpenFile, paths)
	for i := range out {
		out[i].Links = links[out[i].Path]
	}
	return out, nil
}

// SortPaths sorts device paths by node number: video2 before video10.
func SortPaths(paths []string) {
	num := func(p string) int {
		base := filepath.Base(p)
		i := strings.IndexFunc(base, func(r rune) bool { return r >= '0' && r <= '9' })
		if i < 0 {
			return -1
		}
		n, _ := strconv.Atoi(base[i:])
		return n
	}
	sort.SliceStable(paths, func(a, b int) bool {
		if na, nb := num(paths[a]), num(paths[b]); na != nb {
			return na < nb
		}
		return paths[a] < paths[b]
	})
}

// stableLinks maps device paths to the udev symlinks that name them.
func stableLinks() map[string][]string {
	out := map[string][]string{}
	for _, dir := range []string{"/dev/v4l/by-id", "/dev/v4l/by-path"} {
		names, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, n := range names {
			if target, err := filepath.EvalSymlinks(n); err == nil {
				out[target] = append(out[target], n)
			}
		}
	}
	return out
}

// EnumerateWith describes the devices at paths, opened with open.
func EnumerateWith(open OpenFunc, paths []string) []DeviceInfo {
	var out []DeviceInfo
	for _, p := range paths {
		out = append(out, Describe(open, p))
	}
	return out
}

// Describe opens the device at path and describes it.
func Describe(open OpenFunc, path string) DeviceInfo {
	info := DeviceInfo{Path: path, Kind: KindOther}
	d, err := OpenWith(open, path)
	if err != nil {
		info.Err = err.Error()
		return info
	}
	defer d.Close()
	info.Capability = d.Capability()
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	c := info.Capability
	switch {
	case c.IsM2M():
		info.Capture, err = formatInfos(d, c.CaptureType())
		note(err)
		info.Output, err = formatInfos(d, c.OutputType())
		note(err)
		info.Kind = m2mKind(info.Output, info.Capture)
		info.Controls, err = d.Controls()
		note(err)
	case c.IsCapture():
		info.Kind = KindCamera
		info.Capture, err = formatInfos(d, c.CaptureType())
		note(err)
		info.Inputs, err = d.Inputs()
		note(err)
		info.Controls, err = d.Controls()
		note(err)
	case c.DeviceCaps&(CapVideoOutput|CapVideoOutputMPlane) != 0:
		info.Kind = KindOutput
		info.Output, err = formatInfos(d, c.OutputType())
		note(err)
	}
	info.Err = strings.Join(errs, "; ")
	return info
}

func m2mKind(in, out []FormatInfo) string {
	compressed := func(fs []FormatInfo) bool {
		for _, f := range fs {
			if f.Compressed {
				return true
			}
		}
		return false
	}
	switch {
	case compressed(out) && !compressed(in):
		return KindEncoder
	case compressed(in) && !compressed(out):
		return KindDecoder
	}
	return KindM2M
}

// formatInfos lists the formats of queue type t with their sizes and, for
// discrete sizes, frame rates.
func formatInfos(d *Device, t BufType) ([]FormatInfo, error) {
	descs, err := d.Formats(t)
	if err != nil {
		return nil, err
	}
	var out []FormatInfo
	for _, fd := range descs {
		fi := FormatInfo{FormatDesc: fd, FourCC: FourCC(fd.PixelFormat), Compressed: fd.Flags&fmtFlagCompressed != 0}
		sizes, err := d.FrameSizes(fd.PixelFormat)
		if err != nil {
			return out, err
		}
		for _, s := range sizes {
			si := SizeInfo{FrameSize: s}
			if s.Type == FrmSizeDiscrete {
				if si.Intervals, err = d.FrameIntervals(fd.PixelFormat, s.MinWidth, s.MinHeight); err != nil {
					return out, err
				}
			}
			fi.Sizes = append(fi.Sizes, si)
		}
		out = append(out, fi)
	}
	return out, nil
}
