package serial

import (
	"log/slog"
	"time"
)

// BridgeOptions configure a Bridge. Zero fields take the defaults.
type BridgeOptions struct {
	// Port names the port and its framing.
	Port Config
	// Lines selects line mode: OnData gets one line at a time, without its
	// "\n" or "\r\n". Otherwise raw mode: OnData gets the bytes as they
	// were read.
	Lines bool
	// MaxLine bounds a line in line mode (longer ones arrive in pieces) and
	// a chunk in raw mode. Default 1024, at least 16.
	MaxLine int
	// Invalid is what line mode does with a line that is not UTF-8.
	// Default InvalidPass.
	Invalid Invalid
	// OnData receives what the port sends; the slice is the callee's. It
	// is called from the Bridge's reader, one call at a time, and should
	// return quickly: the port is not read meanwhile.
	OnData func([]byte)
	// OnStatus receives every change of Status, from Run's goroutine.
	OnStatus func(Status)
	// MinBackoff and MaxBackoff bound the wait between attempts to open the
	// port: it starts at MinBackoff and doubles up to MaxBackoff while the
	// port stays away. Defaults 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// WriteQueue is how many writes may wait for the port. Default 64.
	WriteQueue int
	// Clock times the backoff. Default SystemClock.
	Clock Clock
	// Logger receives connects and disconnects at Info. Default: none.
	Logger *slog.Logger
	// Open opens the port. Default Open; tests inject failures.
	Open func(Config) (Port, string, error)
}

func (o *BridgeOptions) defaults() {
	if o.MaxLine == 0 {
		o.MaxLine = 1024
	}
	if o.OnData == nil {
		o.OnData = func([]byte) {}
	}
	if o.OnStatus == nil {
		o.OnStatus = func(Status) {}
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.WriteQueue <= 0 {
		o.WriteQueue = 64
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Open == nil {
		o.Open = Open
	}
}

// Status is whether the Bridge has its port open.
type Status struct {
	Connected bool
	// Path is the device path, when it was resolved.
	Path string
	// Err says why the port is not open (the failed open or the read or
	// write error that closed it); nil while connected and before Run.
	Err error
	// Since is when Connected last changed.
	Since time.Time
	// Attempts counts failed opens since the port was last open.
	Attempts int
}

// Stats are a Bridge's counters since it was made.
type Stats struct {
	Opens, Disconnects  uint64
	BytesIn, BytesOut   uint64
	LinesDropped        uint64 // invalid UTF-8 lines dropped by InvalidDrop
	WritesRefused       uint64 // Send calls that got ErrBusy or ErrDisconnected
	WriteErrors, Reads  uint64
	FailedOpens         uint64
	LastOpen, LastClose time.Time
}
