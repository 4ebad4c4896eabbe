package v4l2

import (
	"fmt"
	"unsafe"
)

// Input is one video input of a capture device (VIDIOC_ENUMINPUT): a
// camera, a tuner, an HDMI port.
type Input struct {
	Index        int    `json:"index"`
	Name         string `json:"name"`
	Type         uint32 `json:"type"`
	Status       uint32 `json:"status"`
	Capabilities uint32 `json:"capabilities"` // InputCapDVTimings for HDMI and similar inputs
}

// Inputs lists the device's inputs.
func (d *Device) Inputs() ([]Input, error) {
	var out []Input
	for i := uint32(0); i < 64; i++ {
		in := rawInput{Index: i}
		if err := d.ioctl(vidiocEnumInput, unsafe.Pointer(&in), unsafe.Sizeof(in)); err != nil {
			if IsNotSupported(err) {
				return out, nil
			}
			return out, err
		}
		out = append(out, Input{Index: int(in.Index), Name: cstr(in.Name[:]), Type: in.Type, Status: in.Status, Capabilities: in.Capabilities})
	}
	return out, nil
}

// Input returns the index of the current input (VIDIOC_G_INPUT).
func (d *Device) Input() (int, error) {
	var v int32
	if err := d.ioctl(vidiocGInput, unsafe.Pointer(&v), unsafe.Sizeof(v)); err != nil {
		return 0, err
	}
	return int(v), nil
}

// SetInput selects an input (VIDIOC_S_INPUT). The format may change.
func (d *Device) SetInput(i int) error {
	v := int32(i)
	return d.ioctl(vidiocSInput, unsafe.Pointer(&v), unsafe.Sizeof(v))
}

// DVTimings are the digital video timings of an HDMI-like input
// (BT.656/1120 timings): the picture size and the blanking around it,
// which with the pixel clock give the frame rate.
type DVTimings struct {
	Width, Height int
	Interlaced    bool
	PixelClock    uint64 // Hz
	// TotalWidth and TotalHeight include the blanking.
	TotalWidth, TotalHeight int

	raw rawDVTimings
}

// FPS returns the frame rate the timings give.
func (t DVTimings) FPS() float64 {
	if t.TotalWidth == 0 || t.TotalHeight == 0 {
		return 0
	}
	return float64(t.PixelClock) / float64(t.TotalWidth*t.TotalHeight)
}

func (t DVTimings) String() string {
	p := "p"
	if t.Interlaced {
		p = "i"
	}
	return fmt.Sprintf("%dx%d%s%.2f", t.Width, t.Height, p, t.FPS())
}

func fromRawDV(r *rawDVTimings) DVTimings {
	bt := &r.BT
	t := DVTimings{
		Width: int(bt.Width), Height: int(bt.Height), Interlaced: bt.Interlaced != 0,
		PixelClock: bt.pixelclock(),
		TotalWidth: int(bt.Width + bt.HFrontPorch + bt.HSync + bt.HBackPorch),
		TotalHeight: int(bt.Height + bt.VFrontPorch + bt.VSync + bt.VBackPorch +
			bt.ILVFrontPorch + bt.ILVSync + bt.ILVBackPorch),
		raw: *r,
	}
	if t.Interlaced {
		t.TotalHeight /= 2 // a field's worth of lines per picture period
	}
	return t
}

// DVTimings returns the current timings of the input (VIDIOC_G_DV_TIMINGS).
func (d *Device) DVTimings() (DVTimings, error) {
	var r rawDVTimings
	if err := d.ioctl(vidiocGDVTimings, unsafe.Pointer(&r), unsafe.Sizeof(r)); err != nil {
		return DVTimings{}, err
	}
	return fromRawDV(&r), nil
}

// QueryDVTimings returns the timings the input detects on its signal
// (VIDIOC_QUERY_DV_TIMINGS); no signal gives ENOLINK.
func (d *Device) QueryDVTimings() (DVTimings, error) {
	var r rawDVTimings
	if err := d.ioctl(vidiocQueryDVTimings, unsafe.Pointer(&r), unsafe.Sizeof(r)); err != nil {
		return DVTimings{}, err
	}
	return fromRawDV(&r), nil
}

// EnumDVTimings lists the standard timings the input supports
// (VIDIOC_ENUM_DV_TIMINGS).
func (d *Device) EnumDVTimings() ([]DVTimings, error) {
	var out []DVTimings
	for i := uint32(0); i < 256; i++ {
		e := rawEnumDVTimings{Index: i}
		if err := d.ioctl(vidiocEnumDVTimings, unsafe.Pointer(&e), unsafe.Sizeof(e)); err != nil {
			if IsNotSupported(err) {
				return out, nil
			}
			return out, err
		}
		out = append(out, fromRawDV(&e.Timings))
	}
	return out, nil
}

// SetDVTimings sets the input's timings (VIDIOC_S_DV_TIMINGS), one of
// those EnumDVTimings or QueryDVTimings returned. The format follows.
func (d *Device) SetDVTimings(t DVTimings) error {
	r := t.raw
	if err := d.ioctl(vidiocSDVTimings, unsafe.Pointer(&r), unsafe.Sizeof(r)); err != nil {
		return err
	}
	return nil
}
