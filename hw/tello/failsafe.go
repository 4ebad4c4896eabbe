package tello

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The failsafes: what the Pilot does on every tick and when Run ends.

// land sends "land" for a Pilot already in the Landing phase, from prev. A
// refused land on a drone whose telemetry says it is on the ground counts
// as landed; any other failure puts the Pilot back to prev (Flying, so the
// failsafes try again, unless the land was asked for on the ground).
func (p *Pilot) land(ctx context.Context, prev Phase) error {
	p.mu.Lock()
	emergencies := p.emergencies
	p.mu.Unlock()
	_, err := p.ac.Command(ctx, "land")
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.emergencies != emergencies {
		return err // the motors were stopped meanwhile: stay grounded
	}
	if err != nil && errors.Is(err, ErrRefused) {
		if st := p.ac.State(); p.ac.Linked() && st.Has(FieldHeight) && st.Height <= 0 {
			err = nil
		}
	}
	if err != nil {
		p.phase = Flying
		if prev == Grounded {
			p.phase = Grounded
		}
		p.hovering = true
		p.emitLocked(Event{Kind: EventCommandFailed, Command: "land", Err: err})
		return err
	}
	p.phase = Grounded
	p.emitLocked(Event{Kind: EventLanded})
	return nil
}

// startLandLocked lands in the background for a failsafe.
func (p *Pilot) startLandLocked(why Event) {
	p.phase = Landing
	why.Command = "land"
	p.emitLocked(why)
	p.log.Info("tello: failsafe landing", "why", why.Kind)
	p.ops.Add(1)
	go func() {
		defer p.ops.Done()
		_ = p.land(context.Background(), Flying)
	}()
}

func (p *Pilot) tick() {
	now := p.clk.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watchLink(now)
	p.watchBattery()
	if p.phase != Flying {
		return
	}
	switch {
	case now.Sub(p.contactAt) >= p.opts.ControllerTimeout:
		p.startLandLocked(Event{Kind: EventControllerLost})
		return
	case p.batCritical:
		p.startLandLocked(Event{Kind: EventBatteryCritical, Battery: p.ac.State().Battery})
		return
	}
	if p.released || p.stickAt.IsZero() || now.Sub(p.stickAt) > p.opts.StickTimeout {
		p.hoverLocked()
		p.sendRC(Stick{})
		return
	}
	p.hovering = false
	p.sendRC(p.stick)
}

func (p *Pilot) hoverLocked() {
	if !p.hovering {
		p.hovering = true
		p.emitLocked(Event{Kind: EventHover})
	}
}

func (p *Pilot) sendRC(s Stick) {
	if err := p.ac.RC(s.Roll, s.Pitch, s.Throttle, s.Yaw); err != nil {
		p.log.Debug("tello: rc", "err", err)
	}
}

func (p *Pilot) watchLink(now time.Time) {
	linked := p.ac.Linked()
	switch {
	case linked && !p.linked:
		if p.everLinked {
			p.emitLocked(Event{Kind: EventLinkRestored})
		}
		p.everLinked = true
	case !linked && p.linked:
		p.emitLocked(Event{Kind: EventLinkLost})
	case !linked && !p.everLinked && now.Sub(p.startedAt) >= linkGrace:
		p.everLinked = true // report a link that never came up, once
		p.emitLocked(Event{Kind: EventLinkLost})
	}
	p.linked = linked
}

func (p *Pilot) watchBattery() {
	st := p.ac.State()
	if !st.Has(FieldBattery) || !p.linked {
		return
	}
	b := st.Battery
	if b < p.opts.BatteryWarn && !p.batWarned {
		p.batWarned = true
		p.emitLocked(Event{Kind: EventBatteryLow, Battery: b})
	} else if b >= p.opts.BatteryWarn {
		p.batWarned = false
	}
	if b < p.opts.BatteryCritical && !p.batCritical {
		p.batCritical = true
		if p.phase != Flying { // while flying the landing reports it
			p.emitLocked(Event{Kind: EventBatteryCritical, Battery: b})
		}
	} else if b >= p.opts.BatteryCritical {
		p.batCritical = false
	}
}

func (p *Pilot) shutdown(ctx context.Context) error {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.ops.Wait()

	p.mu.Lock()
	var err error
	if p.phase == Flying {
		p.phase = Landing
		p.emitLocked(Event{Kind: EventShutdown, Command: "land"})
		p.sendRC(Stick{})
		p.mu.Unlock()
		p.log.Info("tello: landing before shutdown")
		err = p.land(ctx, Flying)
		p.mu.Lock()
	}
	p.done = true
	close(p.events)
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("tello.Pilot.Run: land on shutdown: %w", err)
	}
	return nil
}

// emitLocked queues e, dropping the oldest event when the queue is full.
func (p *Pilot) emitLocked(e Event) {
	if p.done {
		return
	}
	e.At = p.clk.Now()
	select {
	case p.events <- e:
		return
	default:
	}
	select {
	case <-p.events:
		p.dropped.Add(1)
	default:
	}
	select {
	case p.events <- e:
	default:
		p.dropped.Add(1)
	}
}
