package v4l2

import (
	"bytes"
	"fmt"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Capability is what VIDIOC_QUERYCAP says about a device.
type Capability struct {
	Driver  string `json:"driver"`   // e.g. "uvcvideo", "bcm2835-codec", "vivid"
	Card    string `json:"card"`     // e.g. "HD Pro Webcam C920", "bcm2835-codec-encode"
	BusInfo string `json:"bus_info"` // e.g. "usb-0000:01:00.0-1.3", "platform:bcm2835-codec"
	Version uint32 `json:"version"`  // kernel version the driver was built with
	// Caps are the capabilities of the whole physical device, DeviceCaps
	// those of this node.
	Caps       Cap `json:"caps"`
	DeviceCaps Cap `json:"device_caps"`
}

// Has reports whether the node has all of the capabilities c.
func (c Capability) Has(caps Cap) bool { return c.DeviceCaps&caps == caps }

// IsCapture reports whether the node captures video (and is not an M2M
// device): a camera or a capture bridge.
func (c Capability) IsCapture() bool {
	return c.DeviceCaps&(CapVideoCapture|CapVideoCaptureMPlane) != 0 && !c.IsM2M()
}

// IsM2M reports whether the node is a memory-to-memory device (an
// encoder, decoder or converter). A node with separate capture and output
// capabilities is not: v4l2loopback announces both.
func (c Capability) IsM2M() bool {
	return c.DeviceCaps&(CapVideoM2M|CapVideoM2MMPlane) != 0
}

// MPlane reports whether the node uses the multi-planar API.
func (c Capability) MPlane() bool {
	return c.DeviceCaps&(CapVideoCaptureMPlane|CapVideoOutputMPlane|CapVideoM2MMPlane) != 0
}

// CaptureType and OutputType return the buffer types of the node's two
// directions, multi-planar when the node is.
func (c Capability) CaptureType() BufType {
	if c.MPlane() {
		return BufTypeVideoCaptureMPlane
	}
	return BufTypeVideoCapture
}

// OutputType: see CaptureType.
func (c Capability) OutputType() BufType {
	if c.MPlane() {
		return BufTypeVideoOutputMPlane
	}
	return BufTypeVideoOutput
}

// Device is an open V4L2 device node. Its methods are safe for use by one
// goroutine at a time, except Interrupt, which any goroutine may call, and
// Close.
type Device struct {
	path string
	conn Conn
	cap  Capability

	mu     sync.Mutex // guards closed and queues against Close
	closed bool
	queues []*Queue
}

// Open opens the device at path and queries its capabilities.
func Open(path string) (*Device, error) { return OpenWith(OpenFile, path) }

// OpenWith opens the device at path with open (OpenFile, or a fake's) and
// queries its capabilities.
func OpenWith(open OpenFunc, path string) (*Device, error) {
	conn, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("v4l2.Open: %w", err)
	}
	d := &Device{path: path, conn: conn}
	var c rawCapability
	if err := d.ioctl(vidiocQueryCap, unsafe.Pointer(&c), unsafe.Sizeof(c)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("v4l2.Open: %w", err)
	}
	d.cap = Capability{
		Driver:     cstr(c.Driver[:]),
		Card:       cstr(c.Card[:]),
		BusInfo:    cstr(c.BusInfo[:]),
		Version:    c.Version,
		Caps:       Cap(c.Capabilities),
		DeviceCaps: Cap(c.Capabilities),
	}
	if Cap(c.Capabilities)&CapDeviceCaps != 0 {
		d.cap.DeviceCaps = Cap(c.DeviceCaps)
	}
	return d, nil
}

// Path returns the path the device was opened with.
func (d *Device) Path() string { return d.path }

// Capability returns what VIDIOC_QUERYCAP said when the device was opened.
func (d *Device) Capability() Capability { return d.cap }

// Interrupt makes the current or next Wait on any of the device's queues
// return ErrInterrupted. Any goroutine may call it.
func (d *Device) Interrupt() { d.conn.Interrupt() }

// Write writes one frame with write(2) (v4l2loopback's output side).
func (d *Device) Write(p []byte) error {
	n, err := d.conn.Write(p)
	if err != nil {
		return fmt.Errorf("%s: write: %w", d.path, err)
	}
	if n != len(p) {
		return fmt.Errorf("%s: write: %d of %d bytes", d.path, n, len(p))
	}
	return nil
}

// Wait waits up to timeout (negative: forever) until one of events
// (PollIn, PollOut, PollPri) is ready and returns the ready ones. It
// returns ErrTimeout when the time passes and ErrInterrupted after
// Interrupt.
func (d *Device) Wait(events int16, timeout time.Duration) (int16, error) {
	got, err := d.conn.Poll(events, timeout)
	if err != nil {
		if err == ErrInterrupted {
			return 0, ErrInterrupted
		}
		return 0, fmt.Errorf("%s: poll: %w", d.path, err)
	}
	if got == 0 {
		return 0, ErrTimeout
	}
	return got, nil
}

// Close frees the device's queues and closes it. It is safe to call more
// than once.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	qs := d.queues
	d.queues = nil
	d.mu.Unlock()
	var first error
	for _, q := range qs {
		if err := q.unmap(); err != nil && first == nil {
			first = err
		}
	}
	if err := d.conn.Close(); err != nil && first == nil {
		first = fmt.Errorf("%s: close: %w", d.path, err)
	}
	return first
}

// ioctl performs req on the size bytes at p. Errors are *IoctlError.
func (d *Device) ioctl(req uint32, p unsafe.Pointer, size uintptr) error {
	return d.ioctlExt(req, p, size, nil)
}

// ioctlExt performs req on the size bytes at p, whose pointer field
// points at ext.
func (d *Device) ioctlExt(req uint32, p unsafe.Pointer, size uintptr, ext []byte) error {
	err := d.conn.Ioctl(req, unsafe.Slice((*byte)(p), size), ext)
	if err == nil {
		return nil
	}
	if errno, ok := err.(syscall.Errno); ok {
		if errno == syscall.EAGAIN {
			return errAgain // the steady state of DQBUF: no allocation
		}
		return &IoctlError{Path: d.path, Req: req, Errno: errno}
	}
	return fmt.Errorf("%s: %s: %w", d.path, RequestName(req), err)
}

// cstr returns the NUL-terminated string in b.
func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
