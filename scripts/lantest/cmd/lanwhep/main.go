// Command lanwhep is a WHEP viewer for the LAN test: it connects like a
// browser would (optionally with .local host candidates only), counts the
// access units it receives, and restarts ICE by itself when its connection
// drops (a changed address). It prints JSON lines: one per event and a
// summary at the end.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/stream/whepclient"
)

type summary struct {
	Event          string   `json:"event"`
	Units          int      `json:"units"`
	UnitsAfter     int      `json:"units_after_restart"`
	FirstKeyframe  bool     `json:"first_keyframe"`
	Restarts       int      `json:"restarts"`
	OfferHosts     []string `json:"offer_hosts,omitempty"`
	Err            string   `json:"err,omitempty"`
	FirstUnitMs    float64  `json:"first_unit_ms"`
	RestartErrors  int      `json:"restart_errors"`
	ConnectedCount int      `json:"connected"`
}

func emit(v any) { _ = json.NewEncoder(os.Stdout).Encode(v) }

func main() {
	url := flag.String("url", "", "WHEP endpoint")
	mdns := flag.Bool("mdns-candidates", false, "offer only .local host candidates")
	lite := flag.Bool("lite", false, "be an ICE-lite endpoint: send no connectivity checks, so camd must reach the viewer's candidates itself")
	duration := flag.Duration("duration", 10*time.Second, "how long to watch")
	token := flag.String("token", "", "camd's access token")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *duration+20*time.Second)
	defer cancel()
	var sum summary
	sum.Event = "summary"
	states := make(chan webrtc.PeerConnectionState, 16)
	var connected, restarts, restartErrs atomic.Int32
	c, err := whepclient.Dial(ctx, *url, whepclient.Options{
		Token:               *token,
		MDNSCandidates:      *mdns,
		Lite:                *lite,
		DisconnectedTimeout: time.Second,
		OnState: func(s webrtc.PeerConnectionState) {
			if s == webrtc.PeerConnectionStateConnected {
				connected.Add(1)
			}
			select {
			case states <- s:
			default:
			}
		},
	})
	if err != nil {
		sum.Err = err.Error()
		emit(sum)
		os.Exit(1)
	}
	defer c.Close()
	sum.OfferHosts = c.OfferHosts()
	emit(map[string]any{"event": "dialed", "offer_hosts": sum.OfferHosts})

	end := time.After(*duration)
	start := time.Now()
	restarting := false
	for {
		select {
		case u := <-c.Units():
			if sum.Units == 0 {
				sum.FirstKeyframe = h264.IsKeyframe(u.Data)
				sum.FirstUnitMs = float64(time.Since(start).Microseconds()) / 1000
				emit(map[string]any{"event": "first_unit", "keyframe": sum.FirstKeyframe})
			}
			sum.Units++
			if restarts.Load() > 0 {
				sum.UnitsAfter++
			}
		case s := <-states:
			emit(map[string]any{"event": "state", "state": s.String()})
			if (s == webrtc.PeerConnectionStateDisconnected || s == webrtc.PeerConnectionStateFailed) && !restarting {
				restarting = true
				go func() {
					rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
					defer rcancel()
					err := c.RestartICE(rctx)
					ev := map[string]any{"event": "ice_restart"}
					if err != nil {
						ev["err"] = err.Error()
					}
					emit(ev)
					select {
					case states <- webrtc.PeerConnectionStateNew: // wake the loop
					default:
					}
					if err == nil {
						restarts.Add(1)
					} else {
						restartErrs.Add(1)
					}
				}()
			}
			if s == webrtc.PeerConnectionStateNew || s == webrtc.PeerConnectionStateConnected {
				restarting = false
			}
		case <-end:
			sum.ConnectedCount = int(connected.Load())
			sum.Restarts, sum.RestartErrors = int(restarts.Load()), int(restartErrs.Load())
			emit(sum)
			if sum.Units == 0 {
				os.Exit(1)
			}
			return
		case <-ctx.Done():
			sum.Err = "timeout"
			emit(sum)
			os.Exit(1)
		}
	}
}
