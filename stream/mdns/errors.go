package mdns

import "errors"

var (
	// ErrBadName means the host name is not a valid DNS label.
	ErrBadName = errors.New("mdns: name must be 1-63 letters, digits or hyphens, not starting or ending with a hyphen")
	// ErrBadInstance means the DNS-SD instance name cannot be published.
	ErrBadInstance = errors.New("mdns: instance name must be 1-63 bytes of UTF-8 without dots or control characters")
	// ErrBadPort means the advertised port is outside 1-65535.
	ErrBadPort = errors.New("mdns: port must be 1-65535")
	// ErrBadTXT means a TXT key or value cannot be encoded (RFC 6763 §6).
	ErrBadTXT = errors.New("mdns: TXT keys must be printable ASCII without '=', and key=value at most 255 bytes")
	// ErrRunning means Run was called twice.
	ErrRunning = errors.New("mdns: Run was already called")
	// ErrUnsupported means this platform has no mDNS transport.
	ErrUnsupported = errors.New("mdns: multicast sockets are only implemented on Linux")
	// errClosed is returned by a transport after Close.
	errClosed = errors.New("mdns: transport closed")
)
