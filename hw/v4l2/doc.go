// Package v4l2 talks to Video4Linux2 devices: cameras, HDMI capture
// bridges and the memory-to-memory (M2M) encoders and decoders of SoCs
// such as the Raspberry Pi's bcm2835-codec. It is the only package in camd
// with ioctls, mmap and unsafe.
//
// A Device wraps one open device file: capability query, format, frame
// size and frame interval enumeration, G/S/TRY_FMT for single- and
// multi-planar queues, frame rates (S_PARM), inputs and DV timings,
// controls (simple and extended), events and encoder commands. A Queue is
// one buffer queue of a Device: MMAP buffers mapped into memory, DMABUF
// import and EXPBUF export, QBUF/DQBUF without allocating, and a poll-based
// Wait with a timeout that Interrupt can cut short.
//
// Everything a Device does to its file goes through a Conn, the test seam:
// OpenFile gives the real file (Linux only; elsewhere it returns
// ErrUnsupported), and package v4l2test records a real device's exchange
// and plays it back in unit tests. The struct layouts and ioctl numbers
// are the kernel's (<linux/videodev2.h>, checked by layout_test.go on
// amd64, arm64 and arm).
//
// References: the V4L2 userspace API,
// https://docs.kernel.org/userspace-api/media/v4l/v4l2.html, and the
// stateful encoder interface,
// https://docs.kernel.org/userspace-api/media/v4l/dev-encoder.html.
package v4l2
