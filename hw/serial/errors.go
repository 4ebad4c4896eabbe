package serial

import "errors"

// Errors returned by this package, wrapped with the failing call's name and
// context. Test for them with errors.Is.
var (
	// ErrBadConfig means a Config that cannot describe a port: no path and
	// no USB id, an unknown parity, a baud rate out of range.
	ErrBadConfig = errors.New("bad serial port config")
	// ErrNotFound means no port matches the Config's USB ids. Is the
	// adapter plugged in? `camd devices` lists the ports with their ids.
	ErrNotFound = errors.New("no matching serial port")
	// ErrAmbiguous means several ports match the Config's USB ids; add the
	// serial number or use a /dev/serial/by-id path.
	ErrAmbiguous = errors.New("several serial ports match")
	// ErrDisconnected means the Bridge has no open port right now.
	ErrDisconnected = errors.New("serial port disconnected")
	// ErrBusy means the Bridge's write queue is full: the device does not
	// take bytes as fast as they come.
	ErrBusy = errors.New("serial write queue full")
	// ErrClosed means the Bridge is not running (Run not called or
	// returned).
	ErrClosed = errors.New("serial bridge not running")
)
