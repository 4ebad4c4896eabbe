package tello

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Aircraft is what a Pilot flies; *Drone is one.
type Aircraft interface {
	Command(ctx context.Context, cmd string) (string, error)
	Emergency(ctx context.Context) error
	RC(roll, pitch, throttle, yaw int) error
	State() State
	Linked() bool
}

// Stick is one reading of the controller's sticks, each -100..100 (values
// outside are clamped): Roll left/right, Pitch forward/back, Throttle
// up/down, Yaw turning.
type Stick struct{ Roll, Pitch, Throttle, Yaw int }

// PilotOptions configure a Pilot. Zero fields take the defaults.
type PilotOptions struct {
	// Clock drives the stick repeat and every failsafe. Default
	// SystemClock.
	Clock Clock
	// Logger receives the failsafe actions at Info. Default: none.
	Logger *slog.Logger
	// RCInterval is how often the sticks go to the drone while flying.
	// Default 50 ms (20 Hz).
	RCInterval time.Duration
	// StickTimeout is how old the last stick input may be before the Pilot
	// sends zero sticks (hover) instead. Default 150 ms (three stick
	// messages at 20 Hz), so the drone hovers at most
	// StickTimeout+RCInterval (200 ms) after input stops.
	StickTimeout time.Duration
	// ControllerTimeout is how long the drone may fly without any stick
	// input (or takeoff) before the Pilot lands it. Default 10 s.
	ControllerTimeout time.Duration
	// BatteryWarn and BatteryCritical are percentages: below the first an
	// EventBatteryLow, below the second an EventBatteryCritical, a landing
	// and no takeoff. Defaults 20 and 10.
	BatteryWarn, BatteryCritical int
	// EventQueue is how many events wait for the reader before the oldest
	// is dropped. Default 64.
	EventQueue int
}

func (o *PilotOptions) defaults() {
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RCInterval <= 0 {
		o.RCInterval = 50 * time.Millisecond
	}
	if o.StickTimeout <= 0 {
		o.StickTimeout = 150 * time.Millisecond
	}
	if o.ControllerTimeout <= 0 {
		o.ControllerTimeout = 10 * time.Second
	}
	if o.BatteryWarn <= 0 {
		o.BatteryWarn = 20
	}
	if o.BatteryCritical <= 0 {
		o.BatteryCritical = 10
	}
	if o.EventQueue <= 0 {
		o.EventQueue = 64
	}
}

// linkGrace is how long after Run starts a link that never came up is
// reported lost.
const linkGrace = 2 * time.Second

// Pilot flies an Aircraft for one controller at a time and keeps it safe:
//
//   - while flying it sends the sticks every RCInterval;
//   - stick input older than StickTimeout, or Release, sends zero sticks:
//     the drone hovers (EventHover);
//   - no stick input for ControllerTimeout while flying: land
//     (EventControllerLost);
//   - battery below BatteryWarn: EventBatteryLow; below BatteryCritical:
//     EventBatteryCritical, land, and Takeoff is refused;
//   - telemetry lost or back: EventLinkLost, EventLinkRestored;
//   - Run's context ends while flying: land before Run returns
//     (EventShutdown).
//
// The controller is expected to send its sticks continuously (20 Hz, zeros
// included) while it holds control. The Pilot starts Grounded: it does not
// notice a drone that is already in the air when camd starts.
type Pilot struct {
	ac      Aircraft
	opts    PilotOptions
	clk     Clock
	log     *slog.Logger
	events  chan Event
	dropped atomic.Uint64
	ops     sync.WaitGroup // Takeoff, Land and failsafe landings in flight

	mu          sync.Mutex
	phase       Phase
	stick       Stick
	stickAt     time.Time // last Stick
	contactAt   time.Time // last Stick or Takeoff
	released    bool
	hovering    bool
	linked      bool
	everLinked  bool
	startedAt   time.Time
	batWarned   bool
	batCritical bool
	emergencies int // counts Emergency calls, so a takeoff answered after one stays grounded
	running     bool
	stopping    bool // Run is shutting down: no new operations
	done        bool // Run returned: events closed
}

// NewPilot returns a Pilot for ac. Nothing happens until Run.
func NewPilot(ac Aircraft, opts PilotOptions) *Pilot {
	opts.defaults()
	return &Pilot{
		ac:       ac,
		opts:     opts,
		clk:      opts.Clock,
		log:      opts.Logger,
		events:   make(chan Event, opts.EventQueue),
		hovering: true,
	}
}

// Events returns the channel of events. It is closed when Run returns.
// A reader that falls behind loses the oldest events (EventsDropped).
func (p *Pilot) Events() <-chan Event { return p.events }

// EventsDropped counts events lost because nobody read them in time.
func (p *Pilot) EventsDropped() uint64 { return p.dropped.Load() }

// Phase returns where the Pilot believes the drone is.
func (p *Pilot) Phase() Phase {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.phase
}

// Run repeats the sticks and watches the failsafes until ctx ends. Then it
// waits for commands in flight, lands the drone if it is flying, closes
// Events and returns nil, or the error of that last landing. Landing can
// take as long as a Drone's land timeout (Options.MotionTimeout × Tries
// when the drone does not answer).
func (p *Pilot) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.running {
		p.mu.Unlock()
		return fmt.Errorf("tello.Pilot.Run: %w", ErrRunning)
	}
	p.running = true
	p.startedAt = p.clk.Now()
	p.mu.Unlock()

	tk := p.clk.NewTicker(p.opts.RCInterval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return p.shutdown(context.WithoutCancel(ctx))
		case <-tk.C():
			p.tick()
		}
	}
}

// Stick records the controller's sticks; they go to the drone on the next
// tick while flying.
func (p *Pilot) Stick(s Stick) {
	now := p.clk.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stick = Stick{clamp100(s.Roll), clamp100(s.Pitch), clamp100(s.Throttle), clamp100(s.Yaw)}
	p.stickAt, p.contactAt = now, now
	p.released = false
}

// Release says the controller is gone (its channel closed): the drone
// hovers at once, and lands if no controller comes back within
// ControllerTimeout of the last input.
func (p *Pilot) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.released = true
	p.stick = Stick{}
	if p.phase == Flying {
		p.sendRC(Stick{})
		p.hoverLocked()
	}
}

// Takeoff takes off, unless the battery is critical (ErrLowBattery). A
// takeoff the drone refused leaves the Pilot Grounded; one without a reply
// counts as flying, because the drone may be up.
func (p *Pilot) Takeoff(ctx context.Context) error {
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		return fmt.Errorf("tello.Pilot.Takeoff: %w", ErrClosed)
	}
	if st := p.ac.State(); st.Has(FieldBattery) && st.Battery < p.opts.BatteryCritical {
		p.mu.Unlock()
		return fmt.Errorf("tello.Pilot.Takeoff: %w: %d%%, need %d%%", ErrLowBattery, st.Battery, p.opts.BatteryCritical)
	}
	if p.phase == TakingOff || p.phase == Flying {
		p.mu.Unlock()
		return nil
	}
	p.phase = TakingOff
	p.contactAt = p.clk.Now()
	emergencies := p.emergencies
	p.ops.Add(1)
	p.mu.Unlock()
	defer p.ops.Done()

	_, err := p.ac.Command(ctx, "takeoff")
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.emergencies != emergencies { // the motors were stopped meanwhile
		return fmt.Errorf("tello.Pilot.Takeoff: emergency stop during takeoff")
	}
	if err != nil {
		p.emitLocked(Event{Kind: EventCommandFailed, Command: "takeoff", Err: err})
		if errors.Is(err, ErrRefused) || errors.Is(err, ErrBadCommand) {
			p.phase = Grounded
			return fmt.Errorf("tello.Pilot.Takeoff: %w", err)
		}
	}
	p.phase = Flying
	p.contactAt = p.clk.Now()
	p.hovering = true
	p.emitLocked(Event{Kind: EventTookOff})
	if err != nil {
		return fmt.Errorf("tello.Pilot.Takeoff: %w", err)
	}
	return nil
}

// Land lands the drone and waits for it to be down.
func (p *Pilot) Land(ctx context.Context) error {
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		return fmt.Errorf("tello.Pilot.Land: %w (shutting down lands by itself)", ErrClosed)
	}
	prev := p.phase
	p.phase = Landing
	p.ops.Add(1)
	p.mu.Unlock()
	defer p.ops.Done()
	if err := p.land(ctx, prev); err != nil {
		return fmt.Errorf("tello.Pilot.Land: %w", err)
	}
	return nil
}

// Emergency stops the motors at once, whatever else is going on: the drone
// falls. It works even after Run returned.
func (p *Pilot) Emergency(ctx context.Context) error {
	err := p.ac.Emergency(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.emergencies++
	if err != nil {
		p.emitLocked(Event{Kind: EventCommandFailed, Command: "emergency", Err: err})
		return fmt.Errorf("tello.Pilot.Emergency: %w", err)
	}
	p.phase = Grounded
	p.emitLocked(Event{Kind: EventEmergency})
	return nil
}
