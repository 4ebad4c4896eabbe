package v4l2

import "unsafe"

// The kernel's structs from <linux/videodev2.h>, field for field, with the
// Linux ABI of the GOARCH: C long and pointers are Go's int and uintptr
// (LP64 on amd64 and arm64, ILP32 on arm), and 64-bit fields sit where C
// puts them on every target, with explicit padding where Go on 32-bit arm
// would align them to 4 instead of 8. Packed C structs are spelt with byte
// arrays where a Go field would move. layout_test.go checks every size,
// offset and ioctl number against the kernel headers.

// ptrPad is the padding C puts before a pointer-aligned union after an odd
// number of 32-bit fields: 4 bytes on 64-bit targets, none on 32-bit ones.
const ptrPad = unsafe.Sizeof(uintptr(0)) - 4

type timeval struct{ Sec, Usec int } // struct timeval (C long fields)

type timespec struct{ Sec, Nsec int } // struct timespec (C long fields)

type rawCapability struct { // struct v4l2_capability
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

type rawFmtDesc struct { // struct v4l2_fmtdesc
	Index       uint32
	Type        uint32
	Flags       uint32
	Description [32]byte
	PixelFormat uint32
	MbusCode    uint32
	Reserved    [3]uint32
}

type rawFrmSizeEnum struct { // struct v4l2_frmsizeenum
	Index       uint32
	PixelFormat uint32
	Type        uint32
	// union { v4l2_frmsize_discrete; v4l2_frmsize_stepwise }: width,
	// height for discrete; min_width, max_width, step_width, min_height,
	// max_height, step_height for stepwise.
	U        [6]uint32
	Reserved [2]uint32
}

type rawFract struct{ Numerator, Denominator uint32 } // struct v4l2_fract

type rawFrmIvalEnum struct { // struct v4l2_frmivalenum
	Index       uint32
	PixelFormat uint32
	Width       uint32
	Height      uint32
	Type        uint32
	// union { v4l2_fract discrete; v4l2_frmival_stepwise {min, max, step} }
	U        [3]rawFract
	Reserved [2]uint32
}

type rawPixFormat struct { // struct v4l2_pix_format
	Width        uint32
	Height       uint32
	PixelFormat  uint32
	Field        uint32
	BytesPerLine uint32
	SizeImage    uint32
	Colorspace   uint32
	Priv         uint32
	Flags        uint32
	YCbCrEnc     uint32 // union with hsv_enc
	Quantization uint32
	XferFunc     uint32
}

type rawPlanePixFormat struct { // struct v4l2_plane_pix_format (packed)
	SizeImage    uint32
	BytesPerLine uint32
	Reserved     [6]uint16
}

// maxPlanes is VIDEO_MAX_PLANES.
const maxPlanes = 8

type rawPixFormatMplane struct { // struct v4l2_pix_format_mplane (packed)
	Width        uint32
	Height       uint32
	PixelFormat  uint32
	Field        uint32
	Colorspace   uint32
	PlaneFmt     [maxPlanes]rawPlanePixFormat
	NumPlanes    uint8
	Flags        uint8
	YCbCrEnc     uint8 // union with hsv_enc
	Quantization uint8
	XferFunc     uint8
	Reserved     [7]uint8
}

type rawFormat struct { // struct v4l2_format
	Type uint32
	_    [ptrPad]byte // the union holds struct v4l2_window, which has pointers
	Fmt  [200]byte    // union: pix, pix_mp, win, vbi, sliced, sdr, meta, raw_data
}

func (f *rawFormat) pix() *rawPixFormat { return (*rawPixFormat)(unsafe.Pointer(&f.Fmt)) }

func (f *rawFormat) pixMP() *rawPixFormatMplane {
	return (*rawPixFormatMplane)(unsafe.Pointer(&f.Fmt))
}

type rawCaptureParm struct { // struct v4l2_captureparm (and v4l2_outputparm)
	Capability   uint32
	CaptureMode  uint32
	TimePerFrame rawFract
	ExtendedMode uint32
	ReadBuffers  uint32
	Reserved     [4]uint32
}

type rawStreamParm struct { // struct v4l2_streamparm
	Type uint32
	Parm [200]byte // union: capture, output, raw_data
}

func (p *rawStreamParm) capture() *rawCaptureParm {
	return (*rawCaptureParm)(unsafe.Pointer(&p.Parm))
}

type rawRequestBuffers struct { // struct v4l2_requestbuffers
	Count        uint32
	Type         uint32
	Memory       uint32
	Capabilities uint32
	Flags        uint8
	Reserved     [3]uint8
}

type rawTimecode struct { // struct v4l2_timecode
	Type     uint32
	Flags    uint32
	Frames   uint8
	Seconds  uint8
	Minutes  uint8
	Hours    uint8
	Userbits [4]uint8
}

type rawPlane struct { // struct v4l2_plane
	BytesUsed  uint32
	Length     uint32
	M          uintptr // union: mem_offset (u32), userptr (unsigned long), fd (s32)
	DataOffset uint32
	Reserved   [11]uint32
}

type rawBuffer struct { // struct v4l2_buffer
	Index     uint32
	Type      uint32
	BytesUsed uint32
	Flags     uint32
	Field     uint32
	Timestamp timeval
	Timecode  rawTimecode
	Sequence  uint32
	Memory    uint32
	M         uintptr // union: offset (u32), userptr, planes (pointer), fd (s32)
	Length    uint32
	Reserved2 uint32
	RequestFD int32 // union with reserved
}

type rawExportBuffer struct { // struct v4l2_exportbuffer
	Type     uint32
	Index    uint32
	Plane    uint32
	Flags    uint32
	FD       int32
	Reserved [11]uint32
}

type rawQueryCtrl struct { // struct v4l2_queryctrl
	ID           uint32
	Type         uint32
	Name         [32]byte
	Minimum      int32
	Maximum      int32
	Step         int32
	DefaultValue int32
	Flags        uint32
	Reserved     [2]uint32
}

type rawQueryExtCtrl struct { // struct v4l2_query_ext_ctrl
	ID           uint32
	Type         uint32
	Name         [32]byte
	Minimum      int64
	Maximum      int64
	Step         uint64
	DefaultValue int64
	Flags        uint32
	ElemSize     uint32
	Elems        uint32
	NrOfDims     uint32
	Dims         [4]uint32
	Reserved     [32]uint32
}

type rawQueryMenu struct { // struct v4l2_querymenu (packed)
	ID       uint32
	Index    uint32
	Name     [32]byte // union with s64 value (integer menus)
	Reserved uint32
}

type rawControl struct { // struct v4l2_control
	ID    uint32
	Value int32
}

type rawExtControl struct { // struct v4l2_ext_control (packed)
	ID        uint32
	Size      uint32
	Reserved2 uint32
	Value     [8]byte // union: s32 value, s64 value64, pointers
}

type rawExtControls struct { // struct v4l2_ext_controls
	Which     uint32 // union with ctrl_class
	Count     uint32
	ErrorIdx  uint32
	RequestFD int32
	Reserved  uint32
	_         [ptrPad]byte
	Controls  uintptr // struct v4l2_ext_control *
}

type rawEventSubscription struct { // struct v4l2_event_subscription
	Type     uint32
	ID       uint32
	Flags    uint32
	Reserved [5]uint32
}

type rawEvent struct { // struct v4l2_event
	Type      uint32
	_         [4]byte  // the union holds 64-bit fields
	U         [64]byte // union: vsync, ctrl, frame_sync, src_change, motion_det, data
	Pending   uint32
	Sequence  uint32
	Timestamp timespec
	ID        uint32
	Reserved  [8]uint32
	_         [4 - ptrPad]byte // C rounds the size up to 8 on 32-bit targets too
}

type rawEncoderCmd struct { // struct v4l2_encoder_cmd
	Cmd   uint32
	Flags uint32
	Data  [8]uint32
}

type rawDecoderCmd struct { // struct v4l2_decoder_cmd
	Cmd   uint32
	Flags uint32
	Data  [16]uint32 // union: stop.pts (u64), start, raw
}

type rawInput struct { // struct v4l2_input
	Index        uint32
	Name         [32]byte
	Type         uint32
	Audioset     uint32
	Tuner        uint32
	Std          [2]uint32 // v4l2_std_id (u64) at an 8-aligned offset
	Status       uint32
	Capabilities uint32
	Reserved     [3]uint32
	_            [4]byte // C rounds the size up to 8
}

type rawBTTimings struct { // struct v4l2_bt_timings (packed)
	Width         uint32
	Height        uint32
	Interlaced    uint32
	Polarities    uint32
	Pixelclock    [2]uint32 // u64, little-endian on every camd target
	HFrontPorch   uint32
	HSync         uint32
	HBackPorch    uint32
	VFrontPorch   uint32
	VSync         uint32
	VBackPorch    uint32
	ILVFrontPorch uint32
	ILVSync       uint32
	ILVBackPorch  uint32
	Standards     uint32
	Flags         uint32
	PictureAspect rawFract
	CEA861VIC     uint8
	HDMIVIC       uint8
	Reserved      [46]uint8
}

func (t *rawBTTimings) pixelclock() uint64 {
	return uint64(t.Pixelclock[0]) | uint64(t.Pixelclock[1])<<32
}

type rawDVTimings struct { // struct v4l2_dv_timings (packed)
	Type uint32
	BT   rawBTTimings // union with reserved[32]
	_    [4]byte      // the union is 128 bytes, the timings 124
}

type rawEnumDVTimings struct { // struct v4l2_enum_dv_timings
	Index    uint32
	Pad      uint32
	Reserved [2]uint32
	Timings  rawDVTimings
}

type rawRect struct { // struct v4l2_rect
	Left, Top     int32
	Width, Height uint32
}

type rawSelection struct { // struct v4l2_selection
	Type     uint32
	Target   uint32
	Flags    uint32
	R        rawRect
	Reserved [9]uint32
}
