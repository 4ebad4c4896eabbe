package serial

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	bug "go.bug.st/serial"
)

// Parity is the parity bit setting.
type Parity int

// The parities. Mark and space need a kernel with CMSPAR (Linux has it).
const (
	NoParity Parity = iota
	OddParity
	EvenParity
	MarkParity
	SpaceParity
)

var parityNames = []string{"none", "odd", "even", "mark", "space"}

func (p Parity) String() string {
	if p >= 0 && int(p) < len(parityNames) {
		return parityNames[p]
	}
	return fmt.Sprintf("parity(%d)", int(p))
}

// ParseParity reads "none", "odd", "even", "mark" or "space" (any case;
// "" is none).
func ParseParity(s string) (Parity, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return NoParity, nil
	}
	for i, n := range parityNames {
		if s == n {
			return Parity(i), nil
		}
	}
	return 0, fmt.Errorf("serial.ParseParity: %w: parity %q, want none, odd, even, mark or space", ErrBadConfig, s)
}

// StopBits is the number of stop bits, 1 or 2. (1.5 is not supported by
// Linux serial drivers.)
type StopBits int

// Config names a serial port and how to talk to it. Zero fields take the
// defaults: 115200 baud, 8 data bits, no parity, 1 stop bit (115200 8N1).
type Config struct {
	// Path is the device, e.g. /dev/ttyUSB0 or a stable
	// /dev/serial/by-id/… link. Either Path or VID and PID.
	Path string
	// VID and PID pick a USB adapter by its vendor and product id, four hex
	// digits each, any case ("2341", "0043"); SerialNumber narrows the
	// choice when several identical adapters are plugged in.
	VID, PID, SerialNumber string
	// Baud is the bit rate. Default 115200.
	Baud int
	// DataBits is 5, 6, 7 or 8. Default 8.
	DataBits int
	// Parity defaults to NoParity.
	Parity Parity
	// StopBits is 1 or 2. Default 1.
	StopBits StopBits
}

func (c Config) withDefaults() Config {
	if c.Baud == 0 {
		c.Baud = 115200
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.StopBits == 0 {
		c.StopBits = 1
	}
	return c
}

// Validate checks the Config without touching any device.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Path == "" && (c.VID == "" || c.PID == ""):
		return fmt.Errorf("serial: %w: set a path, or a USB vid and pid", ErrBadConfig)
	case c.Path != "" && (c.VID != "" || c.PID != "" || c.SerialNumber != ""):
		return fmt.Errorf("serial: %w: set a path or USB ids, not both", ErrBadConfig)
	case c.Path == "" && (!isHex4(c.VID) || !isHex4(c.PID)):
		return fmt.Errorf("serial: %w: USB vid %q and pid %q must be four hex digits each", ErrBadConfig, c.VID, c.PID)
	case c.Baud < 50 || c.Baud > 4_000_000:
		return fmt.Errorf("serial: %w: baud %d, want 50..4000000", ErrBadConfig, c.Baud)
	case c.DataBits < 5 || c.DataBits > 8:
		return fmt.Errorf("serial: %w: data bits %d, want 5..8", ErrBadConfig, c.DataBits)
	case c.Parity < NoParity || c.Parity > SpaceParity:
		return fmt.Errorf("serial: %w: %v", ErrBadConfig, c.Parity)
	case c.StopBits != 1 && c.StopBits != 2:
		return fmt.Errorf("serial: %w: stop bits %d, want 1 or 2", ErrBadConfig, c.StopBits)
	}
	return nil
}

func isHex4(s string) bool {
	if len(s) != 4 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// String describes the port for logs and the page: the path, or
// "usb 2341:0043 [serial]".
func (c Config) String() string {
	if c.Path != "" {
		return c.Path
	}
	s := "usb " + strings.ToLower(c.VID) + ":" + strings.ToLower(c.PID)
	if c.SerialNumber != "" {
		s += " " + c.SerialNumber
	}
	return s
}

// PortInfo is one serial port found on the system.
type PortInfo struct {
	Path string
	// USB is true for USB adapters; the other fields are empty otherwise.
	// VID and PID are lower-case hex, as lsusb prints them.
	USB                    bool
	VID, PID, SerialNumber string
	Manufacturer, Product  string
}

// Port is an open serial port.
type Port = io.ReadWriteCloser

// openPort opens a device; tests swap it so that no test can open a real
// one. listPorts (per OS) is swapped the same way.
var openPort = func(path string, m *bug.Mode) (Port, error) { return bug.Open(path, m) }

// List returns the serial ports the system has (on Linux: /dev/ttyS*,
// ttyUSB*, ttyACM*, ttyAMA*, … that exist), sorted by path, with the USB
// details of adapters (Linux only: elsewhere the paths alone).
func List() ([]PortInfo, error) {
	ps, err := listPorts()
	if err != nil {
		return nil, fmt.Errorf("serial.List: %w", err)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Path < ps[j].Path })
	return ps, nil
}

// Resolve returns the device path the Config names: Path itself, or the one
// USB port whose ids match (ErrNotFound, ErrAmbiguous otherwise).
func Resolve(c Config) (string, error) {
	if err := c.Validate(); err != nil {
		return "", fmt.Errorf("serial.Resolve: %w", err)
	}
	if c.Path != "" {
		return c.Path, nil
	}
	ports, err := List()
	if err != nil {
		return "", fmt.Errorf("serial.Resolve: %w", err)
	}
	var found []string
	for _, p := range ports {
		if p.USB && strings.EqualFold(p.VID, c.VID) && strings.EqualFold(p.PID, c.PID) &&
			(c.SerialNumber == "" || p.SerialNumber == c.SerialNumber) {
			found = append(found, p.Path)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("serial.Resolve %s: %w (is it plugged in? `camd devices` lists the ports)", c, ErrNotFound)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("serial.Resolve %s: %w: %s (set the serial number or a /dev/serial/by-id path)", c, ErrAmbiguous, strings.Join(found, ", "))
}

// Open resolves the Config and opens the port in raw mode, without flow
// control, with its baud rate and framing. The port blocks on Read until
// bytes arrive or it is closed.
func Open(c Config) (Port, string, error) {
	path, err := Resolve(c)
	if err != nil {
		return nil, "", fmt.Errorf("serial.Open: %w", err)
	}
	c = c.withDefaults()
	stop := bug.OneStopBit
	if c.StopBits == 2 {
		stop = bug.TwoStopBits
	}
	p, err := openPort(path, &bug.Mode{
		BaudRate: c.Baud, DataBits: c.DataBits, Parity: bug.Parity(c.Parity), StopBits: stop,
	})
	if err != nil {
		return nil, path, fmt.Errorf("serial.Open %s: %w%s", path, err, hint(err))
	}
	return p, path, nil
}

// hint says what a person can do about an open error.
func hint(err error) string {
	var pe *bug.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case bug.PermissionDenied:
			return " (add camd's user to the dialout group)"
		case bug.PortBusy:
			return " (another program has it open)"
		}
	}
	return ""
}
