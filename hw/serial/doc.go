// Package serial opens serial ports for camd and keeps one open as a Bridge
// between the port and the page's control channel.
//
// A port is named by its path (/dev/ttyUSB0, /dev/serial/by-id/…, any
// symlink) or by its USB vendor and product id and, when several identical
// adapters are plugged in, its USB serial number (Config); the USB details
// come from sysfs on Linux (List). Opening uses go.bug.st/serial, pure Go on
// Linux, in raw mode without flow control; a pseudo-terminal works like a
// UART, which is how the tests run without hardware.
//
// A Bridge owns one port: it reopens it with backoff when it vanishes (a
// USB adapter unplugged and plugged back), reports every change as a
// Status, hands what the port sends to a callback as raw chunks or as
// lines, and serialises writes through a bounded queue so a stuck device
// never blocks the caller.
package serial
