package v4l2

import (
	"fmt"
	"unsafe"
)

// FormatDesc is one entry of VIDIOC_ENUM_FMT.
type FormatDesc struct {
	PixelFormat uint32 `json:"pixelformat"`
	Description string `json:"description"`
	Flags       uint32 `json:"flags"` // V4L2_FMT_FLAG_*: 1 compressed, 2 emulated
}

// PlaneFormat is the layout of one plane of a format.
type PlaneFormat struct {
	BytesPerLine int // stride; 0 for compressed formats
	SizeImage    int // bytes the plane's buffer must hold
}

// Format is a negotiated image format, single- or multi-planar.
type Format struct {
	Type          BufType
	Width, Height int
	PixelFormat   uint32
	Field         uint32
	Colorspace    uint32
	// Planes has one entry for single-planar types (and for multi-planar
	// formats that keep all planes in one buffer, such as NV12 and YU12),
	// one per buffer plane otherwise.
	Planes []PlaneFormat
}

func (f Format) String() string {
	return fmt.Sprintf("%s %dx%d %v", FourCC(f.PixelFormat), f.Width, f.Height, f.Planes)
}

// FrameSize is one entry of VIDIOC_ENUM_FRAMESIZES: a discrete size
// (Min == Max) or a range with steps.
type FrameSize struct {
	Type       uint32 `json:"type"` // FrmSizeDiscrete, FrmSizeContinuous, FrmSizeStepwise
	MinWidth   int    `json:"min_width"`
	MaxWidth   int    `json:"max_width"`
	StepWidth  int    `json:"step_width,omitempty"`
	MinHeight  int    `json:"min_height"`
	MaxHeight  int    `json:"max_height"`
	StepHeight int    `json:"step_height,omitempty"`
}

// Fract is a fraction of seconds, as V4L2 gives frame intervals.
type Fract struct {
	Num uint32 `json:"num"`
	Den uint32 `json:"den"`
}

// FPS returns the frame rate of a frame interval, 0 when undefined.
func (f Fract) FPS() float64 {
	if f.Num == 0 {
		return 0
	}
	return float64(f.Den) / float64(f.Num)
}

// FrameInterval is one entry of VIDIOC_ENUM_FRAMEINTERVALS: a discrete
// interval (Min == Max) or a range.
type FrameInterval struct {
	Type uint32 `json:"type"`
	Min  Fract  `json:"min"`
	Max  Fract  `json:"max"`
	Step Fract  `json:"step"`
}

// Formats lists the pixel formats the device offers on queue type t.
func (d *Device) Formats(t BufType) ([]FormatDesc, error) {
	var out []FormatDesc
	for i := uint32(0); ; i++ {
		fd := rawFmtDesc{Index: i, Type: uint32(t)}
		if err := d.ioctl(vidiocEnumFmt, unsafe.Pointer(&fd), unsafe.Sizeof(fd)); err != nil {
			if IsNotSupported(err) { // EINVAL ends the list
				return out, nil
			}
			return out, err
		}
		out = append(out, FormatDesc{PixelFormat: fd.PixelFormat, Description: cstr(fd.Description[:]), Flags: fd.Flags})
		if i >= 255 {
			return out, nil
		}
	}
}

// FrameSizes lists the frame sizes the device offers for a pixel format.
func (d *Device) FrameSizes(pixfmt uint32) ([]FrameSize, error) {
	var out []FrameSize
	for i := uint32(0); i < 256; i++ {
		fs := rawFrmSizeEnum{Index: i, PixelFormat: pixfmt}
		if err := d.ioctl(vidiocEnumFrameSizes, unsafe.Pointer(&fs), unsafe.Sizeof(fs)); err != nil {
			if IsNotSupported(err) {
				return out, nil
			}
			return out, err
		}
		s := FrameSize{Type: fs.Type}
		if fs.Type == FrmSizeDiscrete {
			s.MinWidth, s.MaxWidth, s.MinHeight, s.MaxHeight = int(fs.U[0]), int(fs.U[0]), int(fs.U[1]), int(fs.U[1])
		} else {
			s.MinWidth, s.MaxWidth, s.StepWidth = int(fs.U[0]), int(fs.U[1]), int(fs.U[2])
			s.MinHeight, s.MaxHeight, s.StepHeight = int(fs.U[3]), int(fs.U[4]), int(fs.U[5])
		}
		out = append(out, s)
		if fs.Type != FrmSizeDiscrete {
			break // one entry describes the whole range
		}
	}
	return out, nil
}

// FrameIntervals lists the frame intervals the device offers for a pixel
// format at a size.
func (d *Device) FrameIntervals(pixfmt uint32, width, height int) ([]FrameInterval, error) {
	var out []FrameInterval
	for i := uint32(0); i < 256; i++ {
		fi := rawFrmIvalEnum{Index: i, PixelFormat: pixfmt, Width: uint32(width), Height: uint32(height)}
		if err := d.ioctl(vidiocEnumFrameInterval, unsafe.Pointer(&fi), unsafe.Sizeof(fi)); err != nil {
			if IsNotSupported(err) {
				return out, nil
			}
			return out, err
		}
		iv := FrameInterval{Type: fi.Type}
		if fi.Type == FrmSizeDiscrete {
			iv.Min = Fract{fi.U[0].Numerator, fi.U[0].Denominator}
			iv.Max = iv.Min
		} else {
			iv.Min = Fract{fi.U[0].Numerator, fi.U[0].Denominator}
			iv.Max = Fract{fi.U[1].Numerator, fi.U[1].Denominator}
			iv.Step = Fract{fi.U[2].Numerator, fi.U[2].Denominator}
		}
		out = append(out, iv)
		if fi.Type != FrmSizeDiscrete {
			break
		}
	}
	return out, nil
}

// Format returns the current format of queue type t (VIDIOC_G_FMT).
func (d *Device) Format(t BufType) (Format, error) {
	var f rawFormat
	f.Type = uint32(t)
	if err := d.ioctl(vidiocGFmt, unsafe.Pointer(&f), unsafe.Sizeof(f)); err != nil {
		return Format{}, err
	}
	return fromRaw(&f), nil
}

// SetFormat asks for format f (VIDIOC_S_FMT) and returns what the driver
// chose, which may differ: callers check the size and pixel format.
func (d *Device) SetFormat(f Format) (Format, error) { return d.setFormat(vidiocSFmt, f) }

// TryFormat returns what SetFormat would choose, without changing
// anything (VIDIOC_TRY_FMT).
func (d *Device) TryFormat(f Format) (Format, error) { return d.setFormat(vidiocTryFmt, f) }

func (d *Device) setFormat(req uint32, f Format) (Format, error) {
	var r rawFormat
	if err := toRaw(&r, f); err != nil {
		return Format{}, fmt.Errorf("%s: %s: %w", d.path, RequestName(req), err)
	}
	if err := d.ioctl(req, unsafe.Pointer(&r), unsafe.Sizeof(r)); err != nil {
		return Format{}, err
	}
	return fromRaw(&r), nil
}

func toRaw(r *rawFormat, f Format) error {
	r.Type = uint32(f.Type)
	if len(f.Planes) > maxPlanes {
		return fmt.Errorf("%d planes, at most %d: %w", len(f.Planes), maxPlanes, ErrBadArgument)
	}
	if f.Type.MPlane() {
		mp := r.pixMP()
		mp.Width, mp.Height, mp.PixelFormat, mp.Field = uint32(f.Width), uint32(f.Height), f.PixelFormat, f.Field
		mp.Colorspace = f.Colorspace
		mp.NumPlanes = uint8(len(f.Planes))
		for i, p := range f.Planes {
			mp.PlaneFmt[i].BytesPerLine = uint32(p.BytesPerLine)
			mp.PlaneFmt[i].SizeImage = uint32(p.SizeImage)
		}
		return nil
	}
	p := r.pix()
	p.Width, p.Height, p.PixelFormat, p.Field = uint32(f.Width), uint32(f.Height), f.PixelFormat, f.Field
	p.Colorspace = f.Colorspace
	if len(f.Planes) > 0 {
		p.BytesPerLine = uint32(f.Planes[0].BytesPerLine)
		p.SizeImage = uint32(f.Planes[0].SizeImage)
	}
	return nil
}

func fromRaw(r *rawFormat) Format {
	f := Format{Type: BufType(r.Type)}
	if f.Type.MPlane() {
		mp := r.pixMP()
		f.Width, f.Height, f.PixelFormat, f.Field = int(mp.Width), int(mp.Height), mp.PixelFormat, mp.Field
		f.Colorspace = mp.Colorspace
		n := min(int(mp.NumPlanes), maxPlanes)
		for i := 0; i < n; i++ {
			f.Planes = append(f.Planes, PlaneFormat{
				BytesPerLine: int(mp.PlaneFmt[i].BytesPerLine),
				SizeImage:    int(mp.PlaneFmt[i].SizeImage),
			})
		}
		return f
	}
	p := r.pix()
	f.Width, f.Height, f.PixelFormat, f.Field = int(p.Width), int(p.Height), p.PixelFormat, p.Field
	f.Colorspace = p.Colorspace
	f.Planes = []PlaneFormat{{BytesPerLine: int(p.BytesPerLine), SizeImage: int(p.SizeImage)}}
	return f
}

// FrameInterval returns the current frame interval of queue type t
// (VIDIOC_G_PARM), and whether the driver lets it be set.
func (d *Device) FrameInterval(t BufType) (Fract, bool, error) {
	var p rawStreamParm
	p.Type = uint32(t)
	if err := d.ioctl(vidiocGParm, unsafe.Pointer(&p), unsafe.Sizeof(p)); err != nil {
		return Fract{}, false, err
	}
	c := p.capture() // v4l2_outputparm has the same layout
	return Fract{c.TimePerFrame.Numerator, c.TimePerFrame.Denominator}, c.Capability&capTimePerFrame != 0, nil
}

// V4L2_CAP_TIMEPERFRAME in v4l2_captureparm.capability.
const capTimePerFrame = 0x1000

// SetFrameInterval asks for a frame interval on queue type t
// (VIDIOC_S_PARM): the camera's frame rate, or, on an encoder's output
// queue, the rate its rate control assumes. It returns the interval the
// driver chose.
func (d *Device) SetFrameInterval(t BufType, iv Fract) (Fract, error) {
	var p rawStreamParm
	p.Type = uint32(t)
	c := p.capture()
	c.TimePerFrame = rawFract{iv.Num, iv.Den}
	if err := d.ioctl(vidiocSParm, unsafe.Pointer(&p), unsafe.Sizeof(p)); err != nil {
		return Fract{}, err
	}
	return Fract{c.TimePerFrame.Numerator, c.TimePerFrame.Denominator}, nil
}

// Rect is a rectangle of a picture, for selections.
type Rect struct {
	Left, Top     int
	Width, Height int
}

// singlePlanar returns the single-planar type of t: the selection ioctls
// take it for both APIs (the kernel converts), and some drivers only it.
func singlePlanar(t BufType) BufType {
	switch t {
	case BufTypeVideoCaptureMPlane:
		return BufTypeVideoCapture
	case BufTypeVideoOutputMPlane:
		return BufTypeVideoOutput
	}
	return t
}

// Selection returns a selection rectangle of queue type t
// (VIDIOC_G_SELECTION): SelTgtCrop on an encoder's output queue is the
// visible part of the pictures it takes.
func (d *Device) Selection(t BufType, target uint32) (Rect, error) {
	s := rawSelection{Type: uint32(singlePlanar(t)), Target: target}
	if err := d.ioctl(vidiocGSelection, unsafe.Pointer(&s), unsafe.Sizeof(s)); err != nil {
		return Rect{}, err
	}
	return Rect{int(s.R.Left), int(s.R.Top), int(s.R.Width), int(s.R.Height)}, nil
}

// SetSelection sets a selection rectangle (VIDIOC_S_SELECTION) and returns
// the one the driver chose. An encoder whose buffers are larger than the
// picture (heights aligned to 16, say) is told the visible part with
// SelTgtCrop on its output queue.
func (d *Device) SetSelection(t BufType, target uint32, r Rect) (Rect, error) {
	s := rawSelection{Type: uint32(singlePlanar(t)), Target: target,
		R: rawRect{Left: int32(r.Left), Top: int32(r.Top), Width: uint32(r.Width), Height: uint32(r.Height)}}
	if err := d.ioctl(vidiocSSelection, unsafe.Pointer(&s), unsafe.Sizeof(s)); err != nil {
		return Rect{}, err
	}
	return Rect{int(s.R.Left), int(s.R.Top), int(s.R.Width), int(s.R.Height)}, nil
}
