package tello

import (
	"fmt"
	"time"
)

// EventKind names what a Pilot did or noticed.
type EventKind int

// The events a Pilot reports.
const (
	EventTookOff         EventKind = iota + 1 // takeoff answered, or sent and unanswered
	EventLanded                               // land answered
	EventEmergency                            // motors stopped on request
	EventHover                                // stick input stopped: hovering
	EventControllerLost                       // no controller for ControllerTimeout: landing
	EventBatteryLow                           // battery below BatteryWarn
	EventBatteryCritical                      // battery below BatteryCritical: landing
	EventLinkLost                             // no telemetry from the drone
	EventLinkRestored                         // telemetry is back
	EventShutdown                             // camd is stopping while flying: landing
	EventCommandFailed                        // a command the Pilot sent failed (Err)
)

var eventNames = map[EventKind]string{
	EventTookOff: "took-off", EventLanded: "landed", EventEmergency: "emergency",
	EventHover: "hover", EventControllerLost: "controller-lost",
	EventBatteryLow: "battery-low", EventBatteryCritical: "battery-critical",
	EventLinkLost: "link-lost", EventLinkRestored: "link-restored",
	EventShutdown: "shutdown", EventCommandFailed: "command-failed",
}

// String returns the kind in kebab case, for JSON messages to the page.
func (k EventKind) String() string {
	if s, ok := eventNames[k]; ok {
		return s
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// Event is one thing the page should show.
type Event struct {
	Kind    EventKind
	At      time.Time // on the Pilot's clock
	Battery int       // percent, for the battery events
	Command string    // the command, for EventCommandFailed and landings
	Err     error     // for EventCommandFailed
}

func (e Event) String() string {
	s := e.Kind.String()
	if e.Battery != 0 {
		s += fmt.Sprintf(" battery=%d%%", e.Battery)
	}
	if e.Command != "" {
		s += " cmd=" + e.Command
	}
	if e.Err != nil {
		s += " err=" + e.Err.Error()
	}
	return s
}

// Phase is where the Pilot believes the drone is.
type Phase int

// The phases of a flight.
const (
	Grounded  Phase = iota // on the ground, motors off
	TakingOff              // takeoff sent, not answered yet
	Flying                 // in the air: sticks are sent, failsafes armed
	Landing                // land sent, not answered yet
)

func (p Phase) String() string {
	switch p {
	case Grounded:
		return "grounded"
	case TakingOff:
		return "taking-off"
	case Flying:
		return "flying"
	case Landing:
		return "landing"
	}
	return fmt.Sprintf("phase(%d)", int(p))
}
