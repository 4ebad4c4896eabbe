package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/config"
	"github.com/camd-project/camd/hw/serial"
	"github.com/camd-project/camd/hw/tello"
	"github.com/camd-project/camd/stream/control"
)

// hardware is what the page can steer: the serial bridge and the drone,
// behind the control router. Either may be absent; the router then tells
// the page so and it shows no controls for it.
type hardware struct {
	router *control.Router
	drone  *tello.Drone
	pilot  *tello.Pilot
	bridge *serial.Bridge
	unsub  func()
}

// serialCommands parses "name=text" entries; "\n", "\r" and "\t" written as
// two characters (from a flag or an environment variable) become control
// characters.
func serialCommands(entries []string) []control.Command {
	unescape := strings.NewReplacer(`\n`, "\n", `\r`, "\r", `\t`, "\t")
	var out []control.Command
	for _, e := range entries {
		name, text, _ := strings.Cut(e, "=")
		name = strings.TrimSpace(name)
		out = append(out, control.Command{Name: name, Label: strings.ReplaceAll(name, "_", " "), Send: unescape.Replace(text)})
	}
	return out
}

// newHardware opens what the config names. A drone that does not answer is
// an error: the person asked for one and should know at once.
func newHardware(ctx context.Context, cfg *config.Config, log *slog.Logger) (*hardware, error) {
	h := &hardware{}
	opts := control.Options{
		IdleTimeout: time.Duration(cfg.Control.LeaseIdle),
		// Only a viewer that carried the token is attached at all (see
		// stream.Options.Auth); this holds even if that changes.
		Authorize: func(_ string, authenticated bool) bool { return authenticated },
		Logger:    log.With("component", "control"),
	}
	if cfg.Drone.Enabled {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		d, err := tello.Dial(dctx, tello.Options{
			Addr:      cfg.Drone.Address,
			StateAddr: cfg.Drone.StateListen,
			VideoAddr: cfg.Drone.VideoListen,
			Logger:    log.With("component", "tello"),
		})
		if err != nil {
			return nil, fmt.Errorf("drone at %s: %w (is this machine on the Tello's Wi-Fi?)", cfg.Drone.Address, err)
		}
		h.drone = d
		h.pilot = tello.NewPilot(d, tello.PilotOptions{
			Logger:            log.With("component", "pilot"),
			ControllerTimeout: time.Duration(cfg.Drone.ControllerTimeout),
			BatteryWarn:       cfg.Drone.BatteryWarn,
			BatteryCritical:   cfg.Drone.BatteryCritical,
		})
		states, unsub := d.Subscribe()
		h.unsub = unsub
		opts.Pilot, opts.Telemetry, opts.Events, opts.WiFi = h.pilot, states, h.pilot.Events(), d
	}
	var routerReady sync.WaitGroup
	routerReady.Add(1)
	if cfg.Serial.Port != "" || cfg.Serial.USB != "" {
		pc := serial.Config{Path: cfg.Serial.Port, Baud: cfg.Serial.Baud}
		if cfg.Serial.USB != "" {
			parts := strings.Split(cfg.Serial.USB, ":")
			pc.VID, pc.PID = parts[0], parts[1]
			if len(parts) == 3 {
				pc.SerialNumber = parts[2]
			}
		}
		b, err := serial.NewBridge(serial.BridgeOptions{
			Port:  pc,
			Lines: cfg.Serial.Mode == "lines",
			OnData: func(p []byte) {
				routerReady.Wait()
				h.router.SerialData(p)
			},
			OnStatus: func(s serial.Status) {
				routerReady.Wait()
				h.router.SetSerialStatus(control.SerialStatus{Connected: s.Connected, Port: s.Path, Err: s.Err})
			},
			Logger: log.With("component", "serial"),
		})
		if err != nil {
			h.close()
			return nil, err
		}
		h.bridge = b
		opts.Serial, opts.SerialPort, opts.Commands = b, b.Name(), serialCommands(cfg.Serial.Commands)
	}
	r, err := control.NewRouter(opts)
	if err != nil {
		h.close()
		return nil, err
	}
	h.router = r
	routerReady.Done()
	return h, nil
}

// run runs the pieces until ctx ends. The Pilot lands a flying drone
// before it returns; only then is the drone closed.
func (h *hardware) run(ctx context.Context, log *slog.Logger) {
	var wg sync.WaitGroup
	start := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				log.Error(name+" stopped", "err", err)
			}
		}()
	}
	start("control", h.router.Run)
	if h.pilot != nil {
		start("pilot", h.pilot.Run)
	}
	if h.bridge != nil {
		start("serial bridge", h.bridge.Run)
	}
	wg.Wait()
	h.close()
}

func (h *hardware) close() {
	if h.unsub != nil {
		h.unsub()
	}
	if h.drone != nil {
		_ = h.drone.Close()
	}
}

// telloSource is the drone's camera as a frame source (960x720 H.264,
// passed through).
func (h *hardware) telloSource(ctx context.Context) (capture.Source, error) {
	if h.drone == nil {
		return nil, fmt.Errorf(`source.kind "tello" needs drone.enabled = true`)
	}
	if _, err := h.drone.Command(ctx, "streamon"); err != nil {
		return nil, fmt.Errorf("tello streamon: %w", err)
	}
	src := capture.NewStreamSource("Tello camera", h.drone.Video(), 960, 720, 30)
	src.Lost = func() uint64 { return h.drone.VideoStats().Dropped }
	return src, nil
}
