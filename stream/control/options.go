package control

import (
	"context"
	"log/slog"
	"reflect"
	"time"

	"github.com/camd-project/camd/hw/tello"
)

// Pilot flies the drone with failsafes; *tello.Pilot is one.
type Pilot interface {
	Stick(tello.Stick)
	Release()
	Takeoff(ctx context.Context) error
	Land(ctx context.Context) error
	Emergency(ctx context.Context) error
	Phase() tello.Phase
}

// SerialPort writes to the serial bridge; *serial.Bridge is one.
type SerialPort interface {
	Send(ctx context.Context, p []byte) error
}

// Querier asks the drone a read command; *tello.Drone is one. The Router
// uses it for "wifi?".
type Querier interface {
	Command(ctx context.Context, cmd string) (string, error)
}

// Channel carries messages to one viewer; *webrtc.DataChannel is one. Send
// must not block for long: the Router calls it with its lock held, so that
// every viewer sees the lease changes in the same order.
type Channel interface {
	Send(msg []byte) error
}

// Viewer is one connected page: its session id, whether it proved who it is
// (auth), and its two channels.
type Viewer struct {
	ID            string
	Authenticated bool
	// Reliable carries everything that must arrive: replies, lease, events,
	// serial data.
	Reliable Channel
	// Unordered carries telemetry and pongs when it is open; nil or failing
	// sends fall back to Reliable.
	Unordered Channel
}

// SerialStatus is the serial bridge's state, as the Router shows it.
type SerialStatus struct {
	Connected bool
	Port      string
	Err       error
}

// Options configure a Router. Zero fields take the defaults; a nil Pilot or
// Serial means that hardware is absent.
type Options struct {
	// Pilot flies the drone. Nil: no drone.
	Pilot Pilot
	// Telemetry is the drone's state (tello.Drone.Subscribe), sent to the
	// viewers every TelemetryInterval by Run.
	Telemetry <-chan tello.State
	// Events are the Pilot's (tello.Pilot.Events), sent to the viewers by
	// Run as they come.
	Events <-chan tello.Event
	// WiFi, if set, is asked "wifi?" every WiFiInterval while the drone is
	// on the ground or flying (never while it takes off or lands).
	WiFi Querier
	// Serial is the serial bridge. Nil: none.
	Serial SerialPort
	// SerialPort names the port on the page, e.g. "/dev/ttyUSB0".
	SerialPort string
	// Commands are the serial bridge's named commands.
	Commands []Command

	// IdleTimeout takes the lease back from a holder that sent no command
	// and no non-zero stick for this long, unless the drone is in the air.
	// Default 60 s.
	IdleTimeout time.Duration
	// TelemetryInterval is how often telemetry goes out. Default 200 ms.
	TelemetryInterval time.Duration
	// WiFiInterval is how often "wifi?" is asked. Default 5 s.
	WiFiInterval time.Duration
	// SerialTimeout bounds one serial write. Default 2 s.
	SerialTimeout time.Duration
	// DroneTimeout bounds takeoff and land. Default 30 s.
	DroneTimeout time.Duration
	// Authorize says whether a viewer may take control. Default: everyone
	// may. With auth on, pass func(_ string, authenticated bool) bool
	// { return authenticated }.
	Authorize func(viewerID string, authenticated bool) bool
	// Clock times the lease, the telemetry and the error rate limit.
	// Default tello.SystemClock.
	Clock tello.Clock
	// Logger receives lease changes at Info. Default: none.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	// A nil *tello.Pilot or *serial.Bridge in the interface is no hardware.
	if isNilPointer(o.Pilot) {
		o.Pilot = nil
	}
	if isNilPointer(o.Serial) {
		o.Serial = nil
	}
	if isNilPointer(o.WiFi) {
		o.WiFi = nil
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.TelemetryInterval <= 0 {
		o.TelemetryInterval = 200 * time.Millisecond
	}
	if o.WiFiInterval <= 0 {
		o.WiFiInterval = 5 * time.Second
	}
	if o.SerialTimeout <= 0 {
		o.SerialTimeout = 2 * time.Second
	}
	if o.DroneTimeout <= 0 {
		o.DroneTimeout = 30 * time.Second
	}
	if o.Authorize == nil {
		o.Authorize = func(string, bool) bool { return true }
	}
	if o.Clock == nil {
		o.Clock = tello.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// StickHz is how often the page sends the sticks while it holds the lease.
const StickHz = 20

func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return v != nil && rv.Kind() == reflect.Pointer && rv.IsNil()
}
