package capture

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/camd-project/camd/hw/v4l2"
)

// negotiated is what a camera and camd settled on.
type negotiated struct {
	input         int // -1: left alone
	timings       *v4l2.DVTimings
	pixfmt        Format
	width, height int
	fps           float64
	interval      v4l2.Fract
}

// ErrNoCamera means no video device matched the configured name, or none
// offers a format camd can use.
var ErrNoCamera = errors.New("capture: no usable camera")

// videoNodes lists /dev/video* in node order.
func videoNodes() ([]string, error) {
	paths, err := filepath.Glob("/dev/video*")
	if err != nil {
		return nil, err
	}
	v4l2.SortPaths(paths)
	return paths, nil
}

// open opens the configured camera: a path as it is, a name by looking at
// every node's card and bus info, nothing by taking the first camera.
func (s *V4L2) open() (*v4l2.Device, error) {
	name := s.opts.Device
	if strings.HasPrefix(name, "/") {
		return v4l2.OpenWith(s.opts.Open, name)
	}
	paths, err := s.opts.Paths()
	if err != nil {
		return nil, fmt.Errorf("list video devices: %w", err)
	}
	for _, p := range paths {
		dev, err := v4l2.OpenWith(s.opts.Open, p)
		if err != nil {
			continue
		}
		c := dev.Capability()
		if c.IsCapture() && (name == "" && offersUsable(dev) || name != "" && matchesName(c, name)) {
			return dev, nil
		}
		dev.Close()
	}
	if name == "" {
		return nil, fmt.Errorf("none of %d video nodes is a camera with a format camd uses: %w", len(paths), ErrNoCamera)
	}
	return nil, fmt.Errorf("no camera named %q among %d video nodes (give a path, a card name or bus info; see camd devices): %w", name, len(paths), ErrNoCamera)
}

func matchesName(c v4l2.Capability, name string) bool {
	return strings.EqualFold(c.Card, name) || c.BusInfo == name
}

// usable lists the camera formats camd takes, best first.
var usable = []Format{H264, NV12, I420, YUYV, MJPEG, Format(v4l2.PixJPEG)}

func formatRank(f Format) int {
	for i, u := range usable {
		if u == f {
			return i
		}
	}
	return -1
}

func offersUsable(dev *v4l2.Device) bool {
	descs, err := dev.Formats(dev.Capability().CaptureType())
	if err != nil {
		return false
	}
	for _, d := range descs {
		if formatRank(Format(d.PixelFormat)) >= 0 {
			return true
		}
	}
	return false
}

// negotiate picks input, timings, format, size and rate for opts and sets
// them on the device.
func negotiate(dev *v4l2.Device, opts V4L2Options) (negotiated, error) {
	n := negotiated{input: -1}
	if opts.Input != "" {
		idx, timings, err := selectInput(dev, opts)
		if err != nil {
			return n, err
		}
		n.input, n.timings = idx, timings
	}
	cand, err := chooseFormat(dev, opts)
	if err != nil {
		return n, err
	}
	n.pixfmt, n.width, n.height, n.interval = cand.format, cand.width, cand.height, cand.interval
	if n.timings != nil {
		n.width, n.height = n.timings.Width, n.timings.Height
	}
	if err := apply(dev, &n); err != nil {
		return n, err
	}
	return n, nil
}

// apply sets what negotiate chose (again, after a reconnect) and reads
// back the rate.
func apply(dev *v4l2.Device, n *negotiated) error {
	if n.input >= 0 {
		if err := dev.SetInput(n.input); err != nil {
			return err
		}
		if n.timings != nil {
			if err := dev.SetDVTimings(*n.timings); err != nil {
				return err
			}
		}
	}
	t := dev.Capability().CaptureType()
	got, err := dev.SetFormat(v4l2.Format{Type: t, Width: n.width, Height: n.height, PixelFormat: uint32(n.pixfmt),
		Field: v4l2.FieldNone, Planes: []v4l2.PlaneFormat{{}}})
	if err != nil {
		return err
	}
	if Format(got.PixelFormat) != n.pixfmt || got.Width != n.width || got.Height != n.height {
		return fmt.Errorf("asked for %v %dx%d, the camera set %s: %w", n.pixfmt, n.width, n.height, got, ErrNoCamera)
	}
	if n.interval.Den != 0 && n.timings == nil {
		if _, err := dev.SetFrameInterval(t, n.interval); err != nil && !v4l2.IsNotSupported(err) {
			return err
		}
	}
	iv, _, err := dev.FrameInterval(t)
	switch {
	case err == nil && iv.FPS() > 0:
		n.fps = iv.FPS()
	case n.timings != nil:
		n.fps = n.timings.FPS()
	case n.interval.Den != 0:
		n.fps = n.interval.FPS()
	default:
		n.fps = 30
	}
	n.fps = math.Round(n.fps*1000) / 1000
	return nil
}

// selectInput finds the input opts.Input names and, for inputs with DV
// timings (HDMI), the standard timings closest to the wanted size and
// rate.
func selectInput(dev *v4l2.Device, opts V4L2Options) (int, *v4l2.DVTimings, error) {
	inputs, err := dev.Inputs()
	if err != nil {
		return 0, nil, err
	}
	var in *v4l2.Input
	idx, numErr := strconv.Atoi(opts.Input)
	for i := range inputs {
		if numErr == nil && inputs[i].Index == idx || strings.EqualFold(inputs[i].Name, opts.Input) {
			in = &inputs[i]
			break
		}
	}
	if in == nil {
		var names []string
		for _, i := range inputs {
			names = append(names, fmt.Sprintf("%d %q", i.Index, i.Name))
		}
		return 0, nil, fmt.Errorf("no input %q; the camera has %s: %w", opts.Input, strings.Join(names, ", "), ErrNoCamera)
	}
	if err := dev.SetInput(in.Index); err != nil {
		return 0, nil, err
	}
	if in.Capabilities&v4l2.InputCapDVTimings == 0 {
		return in.Index, nil, nil
	}
	all, err := dev.EnumDVTimings()
	if err != nil {
		return 0, nil, err
	}
	var best *v4l2.DVTimings
	for i := range all {
		t := &all[i]
		if t.Width != opts.Width || t.Height != opts.Height || t.Interlaced {
			continue
		}
		if best == nil || math.Abs(t.FPS()-opts.FPS) < math.Abs(best.FPS()-opts.FPS) {
			best = t
		}
	}
	if best == nil {
		cur, err := dev.QueryDVTimings()
		if err != nil {
			return 0, nil, fmt.Errorf("input %q has no %dx%d timings and none detected: %w", in.Name, opts.Width, opts.Height, err)
		}
		best = &cur
	}
	if err := dev.SetDVTimings(*best); err != nil {
		return 0, nil, err
	}
	return in.Index, best, nil
}
