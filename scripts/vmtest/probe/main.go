// Command probe is the VM tests' smoke check: it lists /dev/video*, asks
// each node for its capabilities (VIDIOC_QUERYCAP) and checks that the
// three test drivers (vivid, vicodec, v4l2loopback) answered. It prints
// one PASS/FAIL line per node and per driver and exits 1 on any failure.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"unsafe"

	"golang.org/x/sys/unix"
)

// capability is struct v4l2_capability (include/uapi/linux/videodev2.h),
// the same 104 bytes on every architecture.
type capability struct {
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

// vidiocQuerycap is _IOR('V', 0, struct v4l2_capability).
const vidiocQuerycap = 2<<30 | uint32(unsafe.Sizeof(capability{}))<<16 | 'V'<<8 | 0

const (
	capVideoCapture   = 0x00000001
	capVideoOutput    = 0x00000002
	capVideoM2M       = 0x00008000
	capVideoM2MMplane = 0x00004000
	capDeviceCaps     = 0x80000000
)

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func querycap(dev string) (capability, error) {
	fd, err := unix.Open(dev, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return capability{}, fmt.Errorf("open: %w", err)
	}
	defer unix.Close(fd)
	var c capability
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(vidiocQuerycap), uintptr(unsafe.Pointer(&c))); e != 0 {
		return capability{}, fmt.Errorf("VIDIOC_QUERYCAP: %w", e)
	}
	return c, nil
}

// kind names what a node does, from its device caps.
func kind(caps uint32) string {
	switch {
	case caps&(capVideoM2M|capVideoM2MMplane) != 0:
		return "m2m"
	case caps&capVideoCapture != 0 && caps&capVideoOutput != 0:
		return "capture+output"
	case caps&capVideoCapture != 0:
		return "capture"
	case caps&capVideoOutput != 0:
		return "output"
	default:
		return "other"
	}
}

func main() {
	devs, _ := filepath.Glob("/dev/video*")
	sort.Strings(devs)
	fail := false
	var drivers []string
	for _, d := range devs {
		c, err := querycap(d)
		if err != nil {
			fmt.Printf("FAIL querycap %s: %v\n", d, err)
			fail = true
			continue
		}
		caps := c.Capabilities
		if caps&capDeviceCaps != 0 {
			caps = c.DeviceCaps
		}
		drv := cstr(c.Driver[:])
		fmt.Printf("PASS querycap %s driver=%q card=%q bus=%q caps=%#08x kind=%s\n",
			d, drv, cstr(c.Card[:]), cstr(c.BusInfo[:]), caps, kind(caps))
		if !slices.Contains(drivers, drv) {
			drivers = append(drivers, drv)
		}
	}
	for _, want := range []string{"vivid", "vicodec", "v4l2 loopback"} {
		if slices.Contains(drivers, want) {
			fmt.Printf("PASS driver %q present\n", want)
		} else {
			fmt.Printf("FAIL driver %q: no /dev/video* node answers with it (found %q)\n", want, drivers)
			fail = true
		}
	}
	if fail {
		os.Exit(1)
	}
}
