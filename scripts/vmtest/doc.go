// Package vmtest proves camd against real Linux V4L2 drivers without a
// camera: it boots Debian's own kernel in qemu (amd64 and arm64) with an
// initramfs of busybox, the media modules (vivid from the kernel package;
// vicodec and v4l2loopback built out of tree from Debian's sources against
// the matching headers) and static camd programs, runs the programs and
// reads their PASS/FAIL lines from the serial console. The case
// board-init also boots the Raspberry Pi image's start-up (the Buildroot
// board overlay and init scripts, camd with the software encoder) with
// its boot partition as a FAT disk.
//
// Everything comes from Debian's packages, fetched with apt-get through a
// private apt state and cached between runs (see README.md). TestVM is the
// entry point; it skips outside CI when qemu is missing.
package vmtest
