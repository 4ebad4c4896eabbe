// Package v4l2test records the exchange between camd and real V4L2
// devices and plays it back, so that code built on package v4l2 (the
// camera source, the hardware encoder) is unit-tested without hardware.
//
// A Recorder wraps the real v4l2.OpenFunc: every file opened through it
// logs each operation (ioctl argument in and out, the arrays multi-planar
// buffers and extended controls point at, the data drivers put in mapped
// buffers, mmap, poll, write, close). The probe program under
// hw/v4l2/cmd/v4l2probe runs with -record on a real device (vivid,
// vicodec, a Raspberry Pi's codec) and writes Exchange files into
// testdata.
//
// A Player hands out files that answer from an Exchange and check that the
// code asks the same questions in the same order; its Close fails when an
// operation differed or when recorded operations were left unconsumed, in
// the manner of periph's i2ctest.Playback.
package v4l2test
