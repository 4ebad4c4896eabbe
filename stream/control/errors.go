package control

import "fmt"

// Code is the machine-readable reason in an "error" message.
type Code string

// The error codes camd sends. docs/control.md describes each.
const (
	CodeBadJSON        Code = "bad-json"        // not a JSON object
	CodeTooBig         Code = "too-big"         // over MaxMessage bytes
	CodeRateLimited    Code = "rate-limited"    // more than MaxRate messages a second; dropped
	CodeVersion        Code = "version"         // "v" is not Version
	CodeUnknownType    Code = "unknown-type"    // "type" camd does not know
	CodeBadField       Code = "bad-field"       // a field missing, unknown, of the wrong type or out of range
	CodeUnauthorized   Code = "unauthorized"    // this viewer may watch but not control
	CodeNoLease        Code = "no-lease"        // the message needs the lease, and the viewer does not hold it
	CodeLeaseHeld      Code = "lease-held"      // someone else holds the lease
	CodeNoHardware     Code = "no-hardware"     // no drone or no serial bridge configured
	CodeUnknownCommand Code = "unknown-command" // serial.cmd names no configured command
	CodeFailed         Code = "failed"          // the hardware refused or failed
)

// Error is a protocol error: what went wrong with one message, sent back to
// the viewer as an "error" message.
type Error struct {
	Code Code
	Msg  string
	// Type and ID are the offending message's "type" and "id", when known.
	Type string
	ID   *int64
}

func (e *Error) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("control: %s: %s: %s", e.Type, e.Code, e.Msg)
	}
	return fmt.Sprintf("control: %s: %s", e.Code, e.Msg)
}

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}
