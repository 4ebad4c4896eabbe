package control

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/camd-project/camd/hw/tello"
)

// wifiTimeout bounds one "wifi?": the drone answers one command at a time,
// so a slow answer would hold up a landing.
const wifiTimeout = 500 * time.Millisecond

// Run sends the drone's telemetry every TelemetryInterval, its events as
// they come, and polls the Wi-Fi signal, until ctx ends. Then it ends the
// lease (the drone hovers; the Pilot's own shutdown lands it), cancels
// takeoffs and landings in flight, waits for them and returns nil.
func (r *Router) Run(ctx context.Context) error {
	defer func() {
		r.mu.Lock()
		r.stopped = true
		r.releaseLocked("camd is stopping")
		r.mu.Unlock()
		r.cancel()
		r.wg.Wait()
	}()
	tick := r.clk.NewTicker(r.opts.TelemetryInterval)
	defer tick.Stop()
	var wifiC <-chan time.Time
	if r.opts.WiFi != nil && r.opts.Pilot != nil {
		wt := r.clk.NewTicker(r.opts.WiFiInterval)
		defer wt.Stop()
		wifiC = wt.C()
	}
	var polling atomic.Bool
	tele, events := r.opts.Telemetry, r.opts.Events
	var latest tello.State
	fresh := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case st, ok := <-tele:
			if !ok {
				tele = nil
				continue
			}
			latest, fresh = st, true
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			msg := eventMessage(ev)
			r.mu.Lock()
			r.broadcastLocked(false, msg)
			r.mu.Unlock()
		case <-tick.C():
			if fresh {
				fresh = false
				r.telemetry(latest)
			}
		case <-wifiC:
			if polling.CompareAndSwap(false, true) {
				r.wg.Add(1)
				go func() {
					defer r.wg.Done()
					defer polling.Store(false)
					r.pollWiFi()
				}()
			}
		}
	}
}

func (r *Router) telemetry(st tello.State) {
	phase := tello.Grounded
	if r.opts.Pilot != nil {
		phase = r.opts.Pilot.Phase()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tele = telemetryMessage(st, phase, r.wifi, r.clk.Now())
	r.broadcastLocked(true, r.tele)
}

func (r *Router) pollWiFi() {
	if ph := r.opts.Pilot.Phase(); ph != tello.Grounded && ph != tello.Flying {
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, wifiTimeout)
	defer cancel()
	reply, err := r.opts.WiFi.Command(ctx, "wifi?")
	snr, perr := strconv.Atoi(strings.TrimSpace(reply))
	if err != nil || perr != nil || snr < 0 || snr > 100 {
		r.log.Debug("control: wifi? failed", "reply", reply, "err", err)
		snr = -1
	}
	r.mu.Lock()
	r.wifi = snr
	r.mu.Unlock()
}

// SerialData sends what the serial port sent to every viewer. Give it to
// the bridge as its data callback.
func (r *Router) SerialData(p []byte) {
	if len(p) == 0 {
		return
	}
	msg := serialDataMessage(p, r.clk.Now())
	r.mu.Lock()
	defer r.mu.Unlock()
	r.broadcastLocked(false, msg)
}

// SetSerialStatus records the serial bridge's state and sends it to every
// viewer. Give it to the bridge as its status callback.
func (r *Router) SetSerialStatus(s SerialStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.Port == "" {
		s.Port = r.serial.Port
	}
	r.serial = s
	r.broadcastLocked(false, r.serialStatusLocked())
}

func (r *Router) serialStatusLocked() []byte {
	m := serialStatusMsg{Port: r.serial.Port, Connected: r.serial.Connected}
	if r.serial.Err != nil && !r.serial.Connected {
		m.Error = r.serial.Err.Error()
	}
	return encode(TypeSerialStatus, m)
}
