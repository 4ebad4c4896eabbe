package encode

import (
	"errors"
	"fmt"
	"testing"

	"github.com/camd-project/camd/capture"
)

func TestNew(t *testing.T) {
	raw := capture.Info{Name: "pattern", Format: capture.I420, Width: 64, Height: 48, FPS: 30}
	h264src := capture.Info{Name: "file", Format: capture.H264, Width: 64, Height: 48, FPS: 30}
	mjpeg := capture.Info{Name: "uvc", Format: capture.MJPEG, Width: 64, Height: 48, FPS: 30}
	software := "openh264"
	var softwareErr error
	if !SoftwareBuiltIn() {
		software, softwareErr = "", ErrNoEncoder
	}
	for _, tc := range []struct {
		kind     string
		src      capture.Info
		wantName string
		wantErr  error
	}{
		{"auto", h264src, "passthrough", nil},
		{"", h264src, "passthrough", nil},
		{"passthrough", h264src, "passthrough", nil},
		{"passthrough", raw, "", ErrUnsupportedFormat},
		{"auto", raw, software, softwareErr},
		{"auto", mjpeg, "", ErrUnsupportedFormat},
		{"openh264", mjpeg, "", ErrUnsupportedFormat},
		{"v4l2m2m", raw, "", ErrNotBuiltIn},
		{"x264", raw, "", ErrUnknownKind},
	} {
		t.Run(fmt.Sprintf("%s/%v", tc.kind, tc.src.Format), func(t *testing.T) {
			e, err := New(tc.kind, Options{}, tc.src)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if e.Name() != tc.wantName {
				t.Errorf("Name() = %q, want %q", e.Name(), tc.wantName)
			}
		})
	}
}

func TestNewOpenH264(t *testing.T) {
	e, err := New("openh264", Options{}, capture.Info{Format: capture.NV12, Width: 64, Height: 48})
	if !SoftwareBuiltIn() {
		if !errors.Is(err, ErrNotBuiltIn) {
			t.Fatalf("err = %v, want ErrNotBuiltIn", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := New("openh264", Options{}, capture.Info{Format: capture.NV12, Width: 63, Height: 48}); !errors.Is(err, ErrBadSize) {
		t.Errorf("odd width: err = %v, want ErrBadSize", err)
	}
}

type fakeHardware struct{ Passthrough }

func (*fakeHardware) Name() string { return "fake-m2m" }

func TestNewPrefersHardware(t *testing.T) {
	defer func(old func(Options, capture.Info) (Encoder, error)) { newHardware = old }(newHardware)
	raw := capture.Info{Name: "pattern", Format: capture.NV12, Width: 64, Height: 48}

	newHardware = func(Options, capture.Info) (Encoder, error) { return new(fakeHardware), nil }
	for _, kind := range []string{"auto", "v4l2m2m"} {
		e, err := New(kind, Options{}, raw)
		if err != nil || e.Name() != "fake-m2m" {
			t.Errorf("%s: got %v, %v; want the hardware encoder", kind, e, err)
		}
	}

	errNoDevice := errors.New("no M2M device")
	newHardware = func(Options, capture.Info) (Encoder, error) { return nil, errNoDevice }
	if _, err := New("v4l2m2m", Options{}, raw); !errors.Is(err, errNoDevice) {
		t.Errorf("forced v4l2m2m without a device: err = %v", err)
	}
	e, err := New("auto", Options{}, raw)
	if !SoftwareBuiltIn() {
		if !errors.Is(err, ErrNoEncoder) {
			t.Errorf("auto without hardware or software: err = %v, want ErrNoEncoder", err)
		}
		return
	}
	if err != nil || e.Name() != "openh264" {
		t.Fatalf("auto without hardware: got %v, %v; want openh264", e, err)
	}
	e.Close()
}
