package browser

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound is returned by Find when no Chromium binary is found.
	ErrNotFound = errors.New("browser: no Chromium found; install it (apt-get install chromium) or set CAMD_CHROMIUM to its path")
	// ErrClosed is returned by calls made after the browser exited or was
	// closed.
	ErrClosed = errors.New("browser: connection to Chromium closed")
	// ErrPageClosed is returned by calls to a page (a CDP session) that
	// was closed or otherwise detached.
	ErrPageClosed = errors.New("browser: page closed (CDP session detached)")
	// ErrJS is wrapped by the errors of Eval when the expression threw or
	// its promise was rejected.
	ErrJS = errors.New("javascript exception")
)

// CDPError is an error answered by Chromium to a DevTools command.
type CDPError struct {
	Method  string // the command, e.g. "Page.navigate"
	Code    int    // JSON-RPC style code, e.g. -32000
	Message string
	Data    string // extra detail, often empty
}

func (e *CDPError) Error() string {
	s := fmt.Sprintf("%s: cdp error %d: %s", e.Method, e.Code, e.Message)
	if e.Data != "" {
		s += " (" + e.Data + ")"
	}
	return s
}
