package control

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Command is a named serial command: a button on the page that sends a
// fixed string to the serial port, with an optional number filled in, e.g.
// {Name: "pan", Send: "P{n}\n", Min: -90, Max: 90}.
type Command struct {
	// Name is what serial.cmd names: 1..32 of a-z, 0-9, '.', '_', '-'.
	Name string
	// Label is the button's text. Default Name.
	Label string
	// Send is the bytes to send. Every "{n}" is replaced by the message's
	// number in decimal; a command with "{n}" needs one, one without takes
	// none.
	Send string
	// Min and Max bound the number, when Send has "{n}". Both zero means
	// any integer within ±1e9.
	Min, Max int
}

var commandName = regexp.MustCompile(`^[a-z0-9._-]{1,32}$`)

// takesN reports whether the command has a number.
func (c Command) takesN() bool { return strings.Contains(c.Send, "{n}") }

func (c Command) limits() (int64, int64) {
	if c.Min == 0 && c.Max == 0 {
		return -1e9, 1e9
	}
	return int64(c.Min), int64(c.Max)
}

// render gives the bytes for one serial.cmd.
func (c Command) render(n *int64) ([]byte, *Error) {
	if !c.takesN() {
		if n != nil {
			return nil, errorf(CodeBadField, "command %q takes no number", c.Name)
		}
		return []byte(c.Send), nil
	}
	lo, hi := c.limits()
	switch {
	case n == nil:
		return nil, errorf(CodeBadField, "command %q needs a number \"n\" in %d..%d", c.Name, lo, hi)
	case *n < lo || *n > hi:
		return nil, errorf(CodeBadField, "command %q: n %d out of %d..%d", c.Name, *n, lo, hi)
	}
	return []byte(strings.ReplaceAll(c.Send, "{n}", strconv.FormatInt(*n, 10))), nil
}

// checkCommands validates a command table and fills in the labels.
func checkCommands(cs []Command) ([]Command, error) {
	out := make([]Command, len(cs))
	seen := map[string]bool{}
	for i, c := range cs {
		switch {
		case !commandName.MatchString(c.Name):
			return nil, fmt.Errorf("command %d: name %q: want 1..32 of a-z 0-9 . _ -", i, c.Name)
		case seen[c.Name]:
			return nil, fmt.Errorf("command %q: defined twice", c.Name)
		case c.Send == "":
			return nil, fmt.Errorf("command %q: nothing to send", c.Name)
		case len(c.Send) > 1024:
			return nil, fmt.Errorf("command %q: %d bytes to send, at most 1024", c.Name, len(c.Send))
		case c.Min > c.Max:
			return nil, fmt.Errorf("command %q: min %d > max %d", c.Name, c.Min, c.Max)
		case len(c.Label) > 64:
			return nil, fmt.Errorf("command %q: label longer than 64 bytes", c.Name)
		}
		seen[c.Name] = true
		if c.Label == "" {
			c.Label = c.Name
		}
		out[i] = c
	}
	return out, nil
}
