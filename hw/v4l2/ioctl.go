package v4l2

import (
	"fmt"
	"unsafe"
)

// Ioctl request numbers are built like the kernel's _IOC macros in
// <asm-generic/ioctl.h>, which amd64, arm64 and arm share: direction in
// bits 30-31, argument size in bits 16-29, type in bits 8-15, number in
// bits 0-7.
const (
	iocWrite = 1
	iocRead  = 2

	iocNRShift   = 0
	iocTypeShift = 8
	iocSizeShift = 16
	iocDirShift  = 30
)

func ioc(dir, typ, nr uint32, size uintptr) uint32 {
	return dir<<iocDirShift | typ<<iocTypeShift | nr<<iocNRShift | uint32(size)<<iocSizeShift
}

func ior(typ, nr uint32, size uintptr) uint32  { return ioc(iocRead, typ, nr, size) }
func iow(typ, nr uint32, size uintptr) uint32  { return ioc(iocWrite, typ, nr, size) }
func iowr(typ, nr uint32, size uintptr) uint32 { return ioc(iocRead|iocWrite, typ, nr, size) }

var (
	vidiocQueryCap          = ior('V', 0, unsafe.Sizeof(rawCapability{}))
	vidiocEnumFmt           = iowr('V', 2, unsafe.Sizeof(rawFmtDesc{}))
	vidiocGFmt              = iowr('V', 4, unsafe.Sizeof(rawFormat{}))
	vidiocSFmt              = iowr('V', 5, unsafe.Sizeof(rawFormat{}))
	vidiocReqBufs           = iowr('V', 8, unsafe.Sizeof(rawRequestBuffers{}))
	vidiocQueryBuf          = iowr('V', 9, unsafe.Sizeof(rawBuffer{}))
	vidiocQBuf              = iowr('V', 15, unsafe.Sizeof(rawBuffer{}))
	vidiocExpBuf            = iowr('V', 16, unsafe.Sizeof(rawExportBuffer{}))
	vidiocDQBuf             = iowr('V', 17, unsafe.Sizeof(rawBuffer{}))
	vidiocStreamOn          = iow('V', 18, unsafe.Sizeof(int32(0)))
	vidiocStreamOff         = iow('V', 19, unsafe.Sizeof(int32(0)))
	vidiocGParm             = iowr('V', 21, unsafe.Sizeof(rawStreamParm{}))
	vidiocSParm             = iowr('V', 22, unsafe.Sizeof(rawStreamParm{}))
	vidiocEnumInput         = iowr('V', 26, unsafe.Sizeof(rawInput{}))
	vidiocGCtrl             = iowr('V', 27, unsafe.Sizeof(rawControl{}))
	vidiocSCtrl             = iowr('V', 28, unsafe.Sizeof(rawControl{}))
	vidiocQueryCtrl         = iowr('V', 36, unsafe.Sizeof(rawQueryCtrl{}))
	vidiocQueryMenu         = iowr('V', 37, unsafe.Sizeof(rawQueryMenu{}))
	vidiocGInput            = ior('V', 38, unsafe.Sizeof(int32(0)))
	vidiocSInput            = iowr('V', 39, unsafe.Sizeof(int32(0)))
	vidiocTryFmt            = iowr('V', 64, unsafe.Sizeof(rawFormat{}))
	vidiocGExtCtrls         = iowr('V', 71, unsafe.Sizeof(rawExtControls{}))
	vidiocSExtCtrls         = iowr('V', 72, unsafe.Sizeof(rawExtControls{}))
	vidiocTryExtCtrls       = iowr('V', 73, unsafe.Sizeof(rawExtControls{}))
	vidiocEnumFrameSizes    = iowr('V', 74, unsafe.Sizeof(rawFrmSizeEnum{}))
	vidiocEnumFrameInterval = iowr('V', 75, unsafe.Sizeof(rawFrmIvalEnum{}))
	vidiocEncoderCmd        = iowr('V', 77, unsafe.Sizeof(rawEncoderCmd{}))
	vidiocTryEncoderCmd     = iowr('V', 78, unsafe.Sizeof(rawEncoderCmd{}))
	vidiocSDVTimings        = iowr('V', 87, unsafe.Sizeof(rawDVTimings{}))
	vidiocGDVTimings        = iowr('V', 88, unsafe.Sizeof(rawDVTimings{}))
	vidiocDQEvent           = ior('V', 89, unsafe.Sizeof(rawEvent{}))
	vidiocSubscribeEvent    = iow('V', 90, unsafe.Sizeof(rawEventSubscription{}))
	vidiocUnsubscribeEvent  = iow('V', 91, unsafe.Sizeof(rawEventSubscription{}))
	vidiocDecoderCmd        = iowr('V', 96, unsafe.Sizeof(rawDecoderCmd{}))
	vidiocTryDecoderCmd     = iowr('V', 97, unsafe.Sizeof(rawDecoderCmd{}))
	vidiocEnumDVTimings     = iowr('V', 98, unsafe.Sizeof(rawEnumDVTimings{}))
	vidiocQueryDVTimings    = ior('V', 99, unsafe.Sizeof(rawDVTimings{}))
	vidiocQueryExtCtrl      = iowr('V', 103, unsafe.Sizeof(rawQueryExtCtrl{}))
	vidiocGSelection        = iowr('V', 94, unsafe.Sizeof(rawSelection{}))
	vidiocSSelection        = iowr('V', 95, unsafe.Sizeof(rawSelection{}))
)

// requestNames names the requests for errors, logs and recordings.
var requestNames = map[uint32]string{
	vidiocQueryCap:          "VIDIOC_QUERYCAP",
	vidiocEnumFmt:           "VIDIOC_ENUM_FMT",
	vidiocGFmt:              "VIDIOC_G_FMT",
	vidiocSFmt:              "VIDIOC_S_FMT",
	vidiocReqBufs:           "VIDIOC_REQBUFS",
	vidiocQueryBuf:          "VIDIOC_QUERYBUF",
	vidiocQBuf:              "VIDIOC_QBUF",
	vidiocExpBuf:            "VIDIOC_EXPBUF",
	vidiocDQBuf:             "VIDIOC_DQBUF",
	vidiocStreamOn:          "VIDIOC_STREAMON",
	vidiocStreamOff:         "VIDIOC_STREAMOFF",
	vidiocGParm:             "VIDIOC_G_PARM",
	vidiocSParm:             "VIDIOC_S_PARM",
	vidiocEnumInput:         "VIDIOC_ENUMINPUT",
	vidiocGCtrl:             "VIDIOC_G_CTRL",
	vidiocSCtrl:             "VIDIOC_S_CTRL",
	vidiocQueryCtrl:         "VIDIOC_QUERYCTRL",
	vidiocQueryMenu:         "VIDIOC_QUERYMENU",
	vidiocGInput:            "VIDIOC_G_INPUT",
	vidiocSInput:            "VIDIOC_S_INPUT",
	vidiocTryFmt:            "VIDIOC_TRY_FMT",
	vidiocGExtCtrls:         "VIDIOC_G_EXT_CTRLS",
	vidiocSExtCtrls:         "VIDIOC_S_EXT_CTRLS",
	vidiocTryExtCtrls:       "VIDIOC_TRY_EXT_CTRLS",
	vidiocEnumFrameSizes:    "VIDIOC_ENUM_FRAMESIZES",
	vidiocEnumFrameInterval: "VIDIOC_ENUM_FRAMEINTERVALS",
	vidiocEncoderCmd:        "VIDIOC_ENCODER_CMD",
	vidiocTryEncoderCmd:     "VIDIOC_TRY_ENCODER_CMD",
	vidiocSDVTimings:        "VIDIOC_S_DV_TIMINGS",
	vidiocGDVTimings:        "VIDIOC_G_DV_TIMINGS",
	vidiocDQEvent:           "VIDIOC_DQEVENT",
	vidiocSubscribeEvent:    "VIDIOC_SUBSCRIBE_EVENT",
	vidiocUnsubscribeEvent:  "VIDIOC_UNSUBSCRIBE_EVENT",
	vidiocDecoderCmd:        "VIDIOC_DECODER_CMD",
	vidiocTryDecoderCmd:     "VIDIOC_TRY_DECODER_CMD",
	vidiocEnumDVTimings:     "VIDIOC_ENUM_DV_TIMINGS",
	vidiocQueryDVTimings:    "VIDIOC_QUERY_DV_TIMINGS",
	vidiocQueryExtCtrl:      "VIDIOC_QUERY_EXT_CTRL",
	vidiocGSelection:        "VIDIOC_G_SELECTION",
	vidiocSSelection:        "VIDIOC_S_SELECTION",
}

// RequestName returns the kernel's name for an ioctl request number, or
// its number in hex.
func RequestName(req uint32) string {
	if n, ok := requestNames[req]; ok {
		return n
	}
	return fmt.Sprintf("ioctl 0x%08x", req)
}

// RequestNumber returns the request number of a kernel ioctl name, such as
// "VIDIOC_DQBUF", for this target.
func RequestNumber(name string) (uint32, bool) {
	for req, n := range requestNames {
		if n == name {
			return req, true
		}
	}
	return 0, false
}
