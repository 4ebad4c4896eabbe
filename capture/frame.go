package capture

import (
	"context"
	"fmt"
	"time"
)

// Format is a pixel or stream format, named by its V4L2 fourcc so that
// frames from a V4L2 device need no translation.
type Format uint32

func fourcc(a, b, c, d byte) Format {
	return Format(uint32(a) | uint32(b)<<8 | uint32(c)<<16 | uint32(d)<<24)
}

// Formats camd understands. The values equal the kernel's V4L2_PIX_FMT_*.
var (
	I420  = fourcc('Y', 'U', '1', '2') // planar 4:2:0, Y then U then V
	NV12  = fourcc('N', 'V', '1', '2') // Y plane, then interleaved UV
	YUYV  = fourcc('Y', 'U', 'Y', 'V') // packed 4:2:2
	MJPEG = fourcc('M', 'J', 'P', 'G') // one JPEG image per frame
	H264  = fourcc('H', '2', '6', '4') // Annex-B access units
)

func (f Format) String() string {
	b := []byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("0x%08x", uint32(f))
		}
	}
	return string(b)
}

// Compressed reports whether frames of this format carry a bitstream
// rather than pixels.
func (f Format) Compressed() bool { return f == MJPEG || f == H264 }

// Frame is one picture from a source.
//
// Raw formats keep their planes in Planes with matching Strides (I420: Y, U,
// V; NV12: Y, UV; YUYV: one plane). Compressed formats (MJPEG, H264) keep the
// bitstream in Planes[0] and leave Strides empty; an H264 frame is one
// Annex-B access unit.
//
// A frame may borrow memory that must go back to its producer (a V4L2
// buffer): whoever ends up holding the frame calls Release exactly once,
// after which Planes must not be touched.
type Frame struct {
	Format        Format
	Width, Height int
	Planes        [][]byte
	Strides       []int

	// Time is the capture time, read from time.Now() so that it carries the
	// monotonic clock reading.
	Time time.Time
	// Seq counts frames produced by the source, from 0. A gap means frames
	// were dropped before this one.
	Seq uint64
	// Keyframe marks a compressed frame that can be decoded on its own
	// (an H.264 IDR, which camd always sends with SPS and PPS in front).
	Keyframe bool

	// JPEG, when set, is the camera's own JPEG of this picture: an MJPEG
	// camera's frame, which Planes hold decoded. A snapshot serves it as
	// it is. Valid until Release.
	JPEG []byte

	// OnRelease, if set, is called by Release to give the memory back.
	OnRelease func()
}

// Release gives the frame's memory back to its producer. It is safe to call
// more than once; only the first call has an effect.
func (f *Frame) Release() {
	if f == nil || f.OnRelease == nil {
		return
	}
	fn := f.OnRelease
	f.OnRelease = nil
	fn()
}

// Source produces frames: a camera, the test pattern, a file, a subprocess.
type Source interface {
	// Run produces frames and hands each to emit until ctx is done (then it
	// returns nil) or the source fails for good. emit never blocks for
	// long: a consumer that is behind drops frames (see Queue), so a source
	// keeps its own pace. After emit the frame belongs to the consumer.
	Run(ctx context.Context, emit func(*Frame)) error
	// Info describes what the source will produce. It is valid before Run
	// (sizes negotiated with a device are known once the device is opened).
	Info() Info
}

// Info describes a source's output.
type Info struct {
	Name          string // human-readable, e.g. "test pattern" or "/dev/video0 (UVC Camera)"
	Format        Format
	Width, Height int
	FPS           float64
}
