package control

import (
	"time"

	"github.com/camd-project/camd/hw/tello"
)

// The lease: one viewer at a time controls the hardware. The first to ask
// gets it; others are refused with the holder's name (no queue: a viewer
// who asked and walked away must not get a drone minutes later). It ends
// when the holder releases it, disconnects, or is idle for IdleTimeout
// while the drone is on the ground. Every change goes to every viewer as
// lease.state, and ending it calls Pilot.Release, which hovers the drone at
// once (and lands it if nobody takes over within the Pilot's
// ControllerTimeout).

// LeaseState is who holds the lease.
type LeaseState struct {
	Held   bool
	Holder string // the holder's public label, e.g. "v3"
	Name   string // the name from its hello, if any
	Since  time.Time
}

// Lease returns who holds the lease, for status pages and logs.
func (r *Router) Lease() LeaseState {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.holder == nil {
		return LeaseState{}
	}
	return LeaseState{Held: true, Holder: r.holder.label, Name: r.holder.name, Since: r.since}
}

func (r *Router) requestLeaseLocked(v *viewer, req Request, fail func(Code, string, ...any) func()) func() {
	switch {
	case !r.opts.Authorize(v.ID, v.Authenticated):
		return fail(CodeUnauthorized, "this viewer may watch but not control")
	case r.holder == v:
		r.touchLocked()
		r.sendLocked(v, false, r.leaseMessageLocked(v))
		return nil
	case r.holder != nil:
		who := r.holder.label
		if r.holder.name != "" {
			who += " (" + r.holder.name + ")"
		}
		fail(CodeLeaseHeld, "%s has held the lease for %v", who, r.clk.Now().Sub(r.since).Round(time.Second))
		r.sendLocked(v, false, r.leaseMessageLocked(v))
		return nil
	}
	now := r.clk.Now()
	r.holder, r.since, r.activity = v, now, now
	v.seq = nil
	r.armIdleLocked(r.opts.IdleTimeout)
	r.log.Info("control: lease taken", "viewer", v.label, "name", v.name)
	r.broadcastLeaseLocked()
	return nil
}

// releaseLocked ends the lease and hovers the drone.
func (r *Router) releaseLocked(why string) {
	if r.holder == nil {
		return
	}
	r.log.Info("control: lease ended", "viewer", r.holder.label, "why", why)
	r.holder = nil
	if r.idle != nil {
		r.idle.Stop()
		r.idle = nil
	}
	if r.opts.Pilot != nil {
		r.opts.Pilot.Release()
	}
	r.broadcastLeaseLocked()
}

// touchLocked records the holder's activity for the idle timeout.
func (r *Router) touchLocked() { r.activity = r.clk.Now() }

func (r *Router) armIdleLocked(d time.Duration) {
	var t tello.Timer
	t = r.clk.AfterFunc(d, func() { r.idleCheck(t) })
	r.idle = t
}

// idleCheck runs when the holder may have gone idle.
func (r *Router) idleCheck(t tello.Timer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.idle != t || r.holder == nil {
		return // a stale timer
	}
	if r.opts.Pilot != nil && r.opts.Pilot.Phase() != tello.Grounded {
		r.armIdleLocked(r.opts.IdleTimeout) // never take the sticks from a pilot in the air
		return
	}
	if left := r.opts.IdleTimeout - r.clk.Now().Sub(r.activity); left > 0 {
		r.armIdleLocked(left)
		return
	}
	r.releaseLocked("idle")
}

func (r *Router) leaseMessageLocked(to *viewer) []byte {
	m := leaseMsg{}
	if h := r.holder; h != nil {
		label, since := h.label, ms(r.since)
		m.Holder, m.Name, m.You, m.Since = &label, h.name, h == to, &since
	}
	return encode(TypeLeaseState, m)
}

func (r *Router) broadcastLeaseLocked() {
	for _, v := range r.viewers {
		r.sendLocked(v, false, r.leaseMessageLocked(v))
	}
}

// welcomeLocked answers a hello: the hardware, then the current lease,
// serial status and telemetry.
func (r *Router) welcomeLocked(v *viewer) {
	w := welcomeMsg{
		Viewer:  v.label,
		Control: r.opts.Authorize(v.ID, v.Authenticated),
		Lease:   leaseDesc{IdleMS: r.opts.IdleTimeout.Milliseconds()},
		Stick:   stickDesc{HZ: StickHz},
		Max:     MaxMessage,
		Time:    ms(r.clk.Now()),
	}
	if r.opts.Pilot != nil {
		w.Hardware.Drone = &droneDesc{Model: "tello"}
	}
	if r.opts.Serial != nil {
		s := &serialDesc{Port: r.serial.Port, Connected: r.serial.Connected, Commands: []commandDesc{}}
		for _, c := range r.opts.Commands {
			d := commandDesc{Name: c.Name, Label: c.Label, N: c.takesN()}
			if d.N {
				lo, hi := c.limits()
				d.Min, d.Max = &lo, &hi
			}
			s.Commands = append(s.Commands, d)
		}
		w.Hardware.Serial = s
	}
	r.sendLocked(v, false, encode(TypeWelcome, w))
	r.sendLocked(v, false, r.leaseMessageLocked(v))
	if r.opts.Serial != nil {
		r.sendLocked(v, false, r.serialStatusLocked())
	}
	if r.tele != nil {
		r.sendLocked(v, true, r.tele)
	}
}
