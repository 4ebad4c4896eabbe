package control

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/camd-project/camd/hw/tello"
)

// nagInterval limits errors about sticks, which come 20 times a second.
const nagInterval = time.Second

// Router speaks the control protocol with every viewer: it decodes their
// messages, keeps the lease, drives the hardware for the holder and
// broadcasts state. Its methods are safe for concurrent use.
type Router struct {
	opts     Options
	clk      tello.Clock
	log      *slog.Logger
	commands map[string]Command
	ctx      context.Context // for hardware calls; cancelled when Run ends
	cancel   context.CancelFunc
	wg       sync.WaitGroup // hardware calls in flight

	mu       sync.Mutex
	viewers  map[string]*viewer
	labels   int
	holder   *viewer
	since    time.Time
	activity time.Time
	idle     tello.Timer
	serial   SerialStatus
	tele     []byte // the last telemetry message, for new viewers
	wifi     int
	stopped  bool // Run returned: no more hardware calls
}

type viewer struct {
	Viewer
	label   string // public: "v3"; session ids stay secret
	name    string
	seq     *uint64
	lastNag time.Time
	rate    bucket
	dropped uint64 // messages over the rate
}

// NewRouter checks the options and returns a Router.
func NewRouter(opts Options) (*Router, error) {
	opts.defaults()
	cmds, err := checkCommands(opts.Commands)
	if err != nil {
		return nil, fmt.Errorf("control.NewRouter: %w", err)
	}
	if len(cmds) > 0 && opts.Serial == nil {
		return nil, fmt.Errorf("control.NewRouter: serial commands without a serial port")
	}
	opts.Commands = cmds
	r := &Router{
		opts: opts, clk: opts.Clock, log: opts.Logger,
		commands: make(map[string]Command, len(cmds)),
		viewers:  make(map[string]*viewer), wifi: -1,
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	for _, c := range cmds {
		r.commands[c.Name] = c
	}
	r.serial.Port = opts.SerialPort
	return r, nil
}

// HasHardware reports whether a drone or a serial bridge is configured.
// Without either the page keeps its controls hidden (the welcome says so).
func (r *Router) HasHardware() bool { return r.opts.Pilot != nil || r.opts.Serial != nil }

// Attach adds a viewer; call it before its channels can deliver messages.
// A viewer with the same ID is replaced. detach removes it (releasing the
// lease if it holds it, which hovers the drone at once); call it when the
// viewer's channel or session closes. detach may be called more than once.
func (r *Router) Attach(v Viewer) (detach func()) {
	if v.ID == "" || v.Reliable == nil {
		r.log.Warn("control: viewer without id or channel ignored")
		return func() {}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.viewers[v.ID]; old != nil {
		r.removeLocked(old)
	}
	r.labels++
	vw := &viewer{Viewer: v, label: "v" + strconv.Itoa(r.labels)}
	r.viewers[v.ID] = vw
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.viewers[v.ID] == vw {
			r.removeLocked(vw)
		}
	}
}

func (r *Router) removeLocked(v *viewer) {
	delete(r.viewers, v.ID)
	if r.holder == v {
		r.releaseLocked("holder disconnected")
	}
}

// Handle takes one message from a viewer's channel: reliable is true for
// the control channel, false for the unordered stick channel. Messages of
// unknown viewers are dropped; bad ones are answered with an error message.
func (r *Router) Handle(viewerID string, reliable bool, msg []byte) {
	r.mu.Lock()
	v := r.viewers[viewerID]
	if v == nil {
		r.mu.Unlock()
		return
	}
	if !v.rate.take(r.clk.Now()) {
		r.rateLimitedLocked(v)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	req, perr := Decode(msg) // outside the lock: other viewers go on
	r.mu.Lock()
	if v = r.viewers[viewerID]; v == nil {
		r.mu.Unlock()
		return
	}
	var after func()
	if perr != nil {
		r.replyLocked(v, perr)
	} else {
		after = r.dispatchLocked(v, req, reliable)
	}
	r.mu.Unlock()
	if after != nil {
		after() // blocking hardware calls, outside the lock
	}
}

func (r *Router) dispatchLocked(v *viewer, req Request, reliable bool) func() {
	fail := func(code Code, format string, args ...any) func() {
		e := errorf(code, format, args...)
		e.Type, e.ID = req.Type, req.ID
		r.replyLocked(v, e)
		return nil
	}
	switch req.Type {
	case TypeHello:
		v.name = req.Name
		r.welcomeLocked(v)
		if r.holder == v {
			r.broadcastLeaseLocked()
		}
		return nil
	case TypePing:
		r.sendLocked(v, !reliable, encode(TypePong, pongMsg{T: req.T, Time: ms(r.clk.Now())}))
		return nil
	case TypeLeaseRequest:
		return r.requestLeaseLocked(v, req, fail)
	}
	// Everything below needs the lease.
	if r.holder != v {
		if req.Type == TypeStick {
			return r.nagLocked(v, req, CodeNoLease, "request the lease before flying")
		}
		if req.Type == TypeLeaseRelease {
			return fail(CodeNoLease, "you do not hold the lease")
		}
		if !r.opts.Authorize(v.ID, v.Authenticated) {
			return fail(CodeUnauthorized, "this viewer may watch but not control")
		}
		return fail(CodeNoLease, "request the lease first")
	}
	switch req.Type {
	case TypeLeaseRelease:
		r.releaseLocked("released by the holder")
		return nil
	case TypeStick:
		return r.stickLocked(v, req)
	case TypeDroneTakeoff, TypeDroneLand, TypeDroneEmergency:
		if r.opts.Pilot == nil {
			return fail(CodeNoHardware, "no drone is configured")
		}
		if r.stopped {
			return fail(CodeFailed, "camd is stopping")
		}
		r.touchLocked()
		return r.droneCall(v, req)
	case TypeSerialSend, TypeSerialCmd:
		if r.opts.Serial == nil {
			return fail(CodeNoHardware, "no serial bridge is configured")
		}
		p := req.Data
		if req.Type == TypeSerialCmd {
			c, ok := r.commands[req.Name]
			if !ok {
				return fail(CodeUnknownCommand, "no command %q", clip(req.Name))
			}
			var e *Error
			if p, e = c.render(req.N); e != nil {
				e.Type, e.ID = req.Type, req.ID
				r.replyLocked(v, e)
				return nil
			}
		}
		r.touchLocked()
		return func() {
			ctx, cancel := context.WithTimeout(r.ctx, r.opts.SerialTimeout)
			defer cancel()
			if err := r.opts.Serial.Send(ctx, p); err != nil {
				r.failed(v, req, err)
			}
		}
	}
	return fail(CodeUnknownType, "unknown type %q", req.Type) // not reached: Decode knows the types
}

func (r *Router) stickLocked(v *viewer, req Request) func() {
	if r.opts.Pilot == nil {
		return r.nagLocked(v, req, CodeNoHardware, "no drone is configured")
	}
	if req.Seq != nil {
		if v.seq != nil && *req.Seq <= *v.seq {
			return nil // overtaken on the unordered channel: the newer one won
		}
		v.seq = req.Seq
	}
	r.opts.Pilot.Stick(req.Stick)
	if req.Stick != (tello.Stick{}) {
		r.touchLocked()
	}
	return nil
}

// droneCall runs a drone command: emergency at once, takeoff and land in
// the background (they take seconds; their outcome shows as events).
func (r *Router) droneCall(v *viewer, req Request) func() {
	p := r.opts.Pilot
	if req.Type == TypeDroneEmergency {
		return func() {
			ctx, cancel := context.WithTimeout(r.ctx, time.Second)
			defer cancel()
			if err := p.Emergency(ctx); err != nil {
				r.failed(v, req, err)
			}
		}
	}
	call := p.Takeoff
	if req.Type == TypeDroneLand {
		call = p.Land
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(r.ctx, r.opts.DroneTimeout)
		defer cancel()
		if err := call(ctx); err != nil {
			r.failed(v, req, err)
		}
	}()
	return nil
}

// failed tells the viewer that the hardware did not do what it asked.
func (r *Router) failed(v *viewer, req Request, err error) {
	r.log.Info("control: command failed", "viewer", v.label, "type", req.Type, "err", err)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.viewers[v.ID] == v {
		r.replyLocked(v, &Error{Code: CodeFailed, Msg: err.Error(), Type: req.Type, ID: req.ID})
	}
}

// nagLocked answers a stick it cannot use, at most once per nagInterval.
func (r *Router) nagLocked(v *viewer, req Request, code Code, msg string) func() {
	now := r.clk.Now()
	if now.Sub(v.lastNag) >= nagInterval {
		v.lastNag = now
		r.replyLocked(v, &Error{Code: code, Msg: msg, Type: req.Type, ID: req.ID})
	}
	return nil
}

// rateLimitedLocked drops a message over the rate, and tells the viewer
// and the log at most once a second.
func (r *Router) rateLimitedLocked(v *viewer) {
	v.dropped++
	now := r.clk.Now()
	if now.Sub(v.lastNag) < nagInterval {
		return
	}
	v.lastNag = now
	r.log.Warn("control: viewer over the message rate; dropping", "viewer", v.label, "max_per_s", MaxRate, "dropped", v.dropped)
	r.replyLocked(v, errorf(CodeRateLimited, "more than %d messages a second; dropping them until the rate falls (%d dropped so far)", MaxRate, v.dropped))
}

func (r *Router) replyLocked(v *viewer, e *Error) {
	r.sendLocked(v, false, errorMessage(e))
}

// sendLocked sends to one viewer, on the unordered channel if asked and
// open, else on the reliable one.
func (r *Router) sendLocked(v *viewer, unordered bool, msg []byte) {
	if unordered && v.Unordered != nil && v.Unordered.Send(msg) == nil {
		return
	}
	if err := v.Reliable.Send(msg); err != nil {
		r.log.Debug("control: send failed", "viewer", v.label, "err", err)
	}
}

func (r *Router) broadcastLocked(unordered bool, msg []byte) {
	for _, v := range r.viewers {
		r.sendLocked(v, unordered, msg)
	}
}
