package encode

import (
	"fmt"

	"github.com/camd-project/camd/capture"
)

// Encoder kinds New understands.
const (
	KindAuto        = "auto"
	KindOpenH264    = "openh264"
	KindPassthrough = "passthrough"
	KindV4L2M2M     = "v4l2m2m"
)

// Kinds lists the encoder kinds New accepts.
func Kinds() []string { return []string{KindAuto, KindOpenH264, KindPassthrough, KindV4L2M2M} }

// SoftwareBuiltIn reports whether this binary includes the openh264
// encoder.
func SoftwareBuiltIn() bool { return openH264BuiltIn }

// newHardware opens the V4L2 memory-to-memory H.264 encoder for frames
// like src's, or returns an error wrapping ErrNotBuiltIn when there is
// none: the V4L2 memory-to-memory encoder found by QUERYCAP. New tries it
// before openh264 for raw sources.
var newHardware = newM2MAuto

// New returns the encoder of the given kind for frames described by src.
// Zero Width, Height and FPS in opts are taken from src.
//
// kind is one of Kinds; "" means "auto": passthrough for a source that
// delivers H.264, else the hardware encoder when there is one, else openh264
// when built in.
func New(kind string, opts Options, src capture.Info) (Encoder, error) {
	if opts.Width == 0 && opts.Height == 0 {
		opts.Width, opts.Height = src.Width, src.Height
	}
	if opts.FPS <= 0 {
		opts.FPS = src.FPS
	}
	switch kind {
	case KindAuto, "":
		return newAuto(opts, src)
	case KindPassthrough:
		if src.Format != capture.H264 {
			return nil, fmt.Errorf("encode.New: passthrough needs an H.264 source, %s delivers %v: %w", src.Name, src.Format, ErrUnsupportedFormat)
		}
		return NewPassthrough(), nil
	case KindOpenH264:
		if err := checkRaw(src); err != nil {
			return nil, fmt.Errorf("encode.New: openh264: %w", err)
		}
		e, err := newOpenH264(opts)
		if err != nil {
			return nil, fmt.Errorf("encode.New: %w", err)
		}
		return e, nil
	case KindV4L2M2M:
		if newHardware == nil {
			return nil, fmt.Errorf("encode.New: v4l2m2m: %w", ErrNotBuiltIn)
		}
		e, err := newHardware(opts, src)
		if err != nil {
			return nil, fmt.Errorf("encode.New: v4l2m2m: %w", err)
		}
		return e, nil
	}
	return nil, fmt.Errorf("encode.New: %q, want one of %v: %w", kind, Kinds(), ErrUnknownKind)
}

func newAuto(opts Options, src capture.Info) (Encoder, error) {
	if src.Format == capture.H264 {
		return NewPassthrough(), nil
	}
	if err := checkRaw(src); err != nil {
		return nil, fmt.Errorf("encode.New: %w", err)
	}
	hwErr := ErrNotBuiltIn
	if newHardware != nil {
		e, err := newHardware(opts, src)
		if err == nil {
			return e, nil
		}
		hwErr = err // no usable hardware encoder: try software
	}
	if !openH264BuiltIn {
		return nil, fmt.Errorf("encode.New: %w for %s: hardware encoder: %v; this camd was built without openh264 "+
			"(build with CGO_ENABLED=1 for amd64, arm64 or GOARM=7, or use a source that delivers H.264)", ErrNoEncoder, src.Name, hwErr)
	}
	e, err := newOpenH264(opts)
	if err != nil {
		return nil, fmt.Errorf("encode.New: %w", err)
	}
	return e, nil
}

// checkRaw accepts the pixel formats the encoders take.
func checkRaw(src capture.Info) error {
	switch src.Format {
	case capture.I420, capture.NV12, capture.YUYV:
		return nil
	}
	return fmt.Errorf("%s delivers %v, want I420, NV12 or YUYV (pick another format for the camera): %w", src.Name, src.Format, ErrUnsupportedFormat)
}
