package config

import (
	"strconv"
	"strings"
)

// Error is one problem with one setting.
type Error struct {
	// Key is the dotted key ("source.fps"), or empty when the problem is not
	// about one key (a syntax error, a file that cannot be read).
	Key string
	// Source says where the value came from: the file path, "env CAMD_X" or
	// "flag". Empty for a Config built in code.
	Source string
	// Line and Col locate the problem in the file, from 1; 0 when unknown.
	Line, Col int
	// Msg says what is wrong, and with what value.
	Msg string
	// Err is the underlying error, if any (for errors.Is and errors.As).
	Err error
}

// Error formats the problem as "camd.toml:12: source.fps: must be ...".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
			if e.Col > 0 {
				b.WriteString(":" + strconv.Itoa(e.Col))
			}
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errors holds every problem found in one pass, in the order found. Load,
// Set and Validate return a non-empty Errors or a nil error, never an empty
// Errors.
type Errors []*Error

// Error prints one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// err returns es as an error, or nil when there is no problem.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
