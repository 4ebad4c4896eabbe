package v4l2

import (
	"fmt"
	"strconv"
)

// Capability flags (V4L2_CAP_*), as in Capability.DeviceCaps.
type Cap uint32

const (
	CapVideoCapture       Cap = 0x00000001
	CapVideoOutput        Cap = 0x00000002
	CapVideoCaptureMPlane Cap = 0x00001000
	CapVideoOutputMPlane  Cap = 0x00002000
	CapVideoM2MMPlane     Cap = 0x00004000
	CapVideoM2M           Cap = 0x00008000
	CapMetaCapture        Cap = 0x00800000
	CapReadWrite          Cap = 0x01000000
	CapStreaming          Cap = 0x04000000
	CapDeviceCaps         Cap = 0x80000000
)

// BufType is a buffer (queue) type, V4L2_BUF_TYPE_*.
type BufType uint32

const (
	BufTypeVideoCapture       BufType = 1
	BufTypeVideoOutput        BufType = 2
	BufTypeVideoCaptureMPlane BufType = 9
	BufTypeVideoOutputMPlane  BufType = 10
)

// MPlane reports whether t is a multi-planar type.
func (t BufType) MPlane() bool {
	return t == BufTypeVideoCaptureMPlane || t == BufTypeVideoOutputMPlane
}

// Capture reports whether buffers of type t carry data from the device
// (camera frames, encoded pictures) rather than to it.
func (t BufType) Capture() bool { return t == BufTypeVideoCapture || t == BufTypeVideoCaptureMPlane }

func (t BufType) String() string {
	switch t {
	case BufTypeVideoCapture:
		return "capture"
	case BufTypeVideoOutput:
		return "output"
	case BufTypeVideoCaptureMPlane:
		return "capture-mplane"
	case BufTypeVideoOutputMPlane:
		return "output-mplane"
	}
	return "buftype(" + strconv.Itoa(int(t)) + ")"
}

// Memory is how a queue's buffers are backed, V4L2_MEMORY_*.
type Memory uint32

const (
	MemoryMMAP   Memory = 1
	MemoryDMABUF Memory = 4
)

// BufFlag is a buffer flag, V4L2_BUF_FLAG_*.
type BufFlag uint32

const (
	BufFlagMapped             BufFlag = 0x00000001
	BufFlagQueued             BufFlag = 0x00000002
	BufFlagDone               BufFlag = 0x00000004
	BufFlagKeyframe           BufFlag = 0x00000008
	BufFlagPFrame             BufFlag = 0x00000010
	BufFlagError              BufFlag = 0x00000040
	BufFlagTimestampMonotonic BufFlag = 0x00002000
	BufFlagTimestampCopy      BufFlag = 0x00004000
	BufFlagLast               BufFlag = 0x00100000
)

// Field order, V4L2_FIELD_*.
const (
	FieldAny  = 0
	FieldNone = 1
)

// Frame size and interval enumeration types.
const (
	FrmSizeDiscrete   = 1
	FrmSizeContinuous = 2
	FrmSizeStepwise   = 3
)

// Control types, V4L2_CTRL_TYPE_*.
type CtrlType uint32

const (
	CtrlInteger     CtrlType = 1
	CtrlBoolean     CtrlType = 2
	CtrlMenu        CtrlType = 3
	CtrlButton      CtrlType = 4
	CtrlInteger64   CtrlType = 5
	CtrlClass       CtrlType = 6
	CtrlString      CtrlType = 7
	CtrlBitmask     CtrlType = 8
	CtrlIntegerMenu CtrlType = 9
)

// Control flags, V4L2_CTRL_FLAG_*.
const (
	CtrlFlagDisabled = 0x0001
	CtrlFlagReadOnly = 0x0004
	CtrlFlagInactive = 0x0010
	CtrlFlagNextCtrl = 0x80000000
	CtrlFlagNextComp = 0x40000000
)

// Control IDs camd uses (V4L2_CID_*).
const (
	cidBase      = 0x00980900 // V4L2_CID_BASE (user class)
	cidCodecBase = 0x00990900 // V4L2_CID_CODEC_BASE

	CIDMinBuffersForCapture = cidBase + 39
	CIDMinBuffersForOutput  = cidBase + 40

	CIDGOPSize         = cidCodecBase + 203
	CIDBitrateMode     = cidCodecBase + 206
	CIDBitrate         = cidCodecBase + 207
	CIDBitratePeak     = cidCodecBase + 208
	CIDFrameRCEnable   = cidCodecBase + 215
	CIDRepeatSeqHeader = cidCodecBase + 226
	CIDForceKeyFrame   = cidCodecBase + 229
	CIDH264MinQP       = cidCodecBase + 353
	CIDH264MaxQP       = cidCodecBase + 354
	CIDH264IPeriod     = cidCodecBase + 358
	CIDH264Level       = cidCodecBase + 359
	CIDH264Profile     = cidCodecBase + 363
	CIDFWHTIFrameQP    = cidCodecBase + 290
	CIDFWHTPFrameQP    = cidCodecBase + 291
)

// Menu values of the codec controls.
const (
	BitrateModeVBR = 0
	BitrateModeCBR = 1

	H264ProfileBaseline            = 0
	H264ProfileConstrainedBaseline = 1
	H264ProfileMain                = 2
	H264ProfileHigh                = 4
)

// Event types, V4L2_EVENT_*.
const (
	EventEOS          = 2
	EventCtrl         = 3
	EventSourceChange = 5
)

// Encoder commands, V4L2_ENC_CMD_*.
const (
	EncCmdStart = 0
	EncCmdStop  = 1
)

// Decoder commands, V4L2_DEC_CMD_*.
const (
	DecCmdStart = 0
	DecCmdStop  = 1
)

// SrcChResolution is V4L2_EVENT_SRC_CH_RESOLUTION, the bit of
// Event.Changes saying the coded size (and with it the buffers) changed.
const SrcChResolution = 1

// Selection targets, V4L2_SEL_TGT_*.
const (
	SelTgtCrop    = 0x0000
	SelTgtCompose = 0x0100
)

// Input capabilities and types, V4L2_IN_CAP_* and V4L2_INPUT_TYPE_*.
const (
	InputTypeCamera   = 2
	InputCapDVTimings = 0x00000002
)

// V4L2_DV_BT_656_1120, the only DV timings type.
const dvBT6561120 = 0

// fourcc packs four characters the way V4L2 names pixel formats.
func fourcc(a, b, c, d byte) uint32 {
	return uint32(a) | uint32(b)<<8 | uint32(c)<<16 | uint32(d)<<24
}

// Pixel and coded formats, V4L2_PIX_FMT_*.
var (
	PixYUV420 = fourcc('Y', 'U', '1', '2')
	PixNV12   = fourcc('N', 'V', '1', '2')
	PixYUYV   = fourcc('Y', 'U', 'Y', 'V')
	PixMJPEG  = fourcc('M', 'J', 'P', 'G')
	PixJPEG   = fourcc('J', 'P', 'E', 'G')
	PixH264   = fourcc('H', '2', '6', '4')
	PixFWHT   = fourcc('F', 'W', 'H', 'T')
)

// FourCC returns the four characters of a pixel format, or its number in
// hex when they are not printable.
func FourCC(f uint32) string {
	b := []byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("0x%08x", f)
		}
	}
	return string(b)
}
