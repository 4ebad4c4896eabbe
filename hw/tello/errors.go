package tello

import "errors"

// Errors returned by this package, wrapped with the failing call's name and
// context. Test for them with errors.Is.
var (
	// ErrNoReply means the drone did not answer a command within its
	// timeout, after every try. Is the computer on the Tello's Wi-Fi?
	ErrNoReply = errors.New("no reply from the drone")
	// ErrRefused means the drone answered "error …"; the error text holds
	// the reply.
	ErrRefused = errors.New("drone refused the command")
	// ErrBadCommand means a command the client will not send: empty, not
	// printable ASCII, too long, or "rc" (use RC, which expects no reply).
	ErrBadCommand = errors.New("bad command")
	// ErrClosed means the Drone or Pilot was used after Close or shutdown.
	ErrClosed = errors.New("tello client closed")
	// ErrBadState means a telemetry datagram that is not the Tello's
	// "key:value;" state string.
	ErrBadState = errors.New("bad state datagram")
	// ErrLowBattery means the Pilot refused to take off because the battery
	// is at or below the critical level.
	ErrLowBattery = errors.New("battery too low to take off")
	// ErrRunning means Pilot.Run was called a second time.
	ErrRunning = errors.New("pilot already running")
)
