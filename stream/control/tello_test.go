package control

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camd-project/camd/hw/tello"
	"github.com/camd-project/camd/hw/tello/tellosim"
)

// flight is the real thing on loopback: the Tello simulator, a tello.Drone
// dialled to it, a tello.Pilot flying it and a Router in front.
type flight struct {
	sim   *tellosim.Sim
	drone *tello.Drone
	pilot *tello.Pilot
	r     *Router
}

func startFlight(t *testing.T) *flight {
	t.Helper()
	listen := func() net.PacketConn {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return pc
	}
	state, video := listen(), listen()
	sim, err := tellosim.Start(tellosim.Options{StateTo: state.LocalAddr().String(),
		VideoTo: video.LocalAddr().String(), StateInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	drone, err := tello.Dial(ctx, tello.Options{
		Addr: sim.Addr().String(), StateAddr: "state", VideoAddr: "video", CommandTimeout: 200 * time.Millisecond,
		ListenPacket: func(network, addr string) (net.PacketConn, error) {
			switch addr {
			case "state":
				return state, nil
			case "video":
				return video, nil
			}
			return net.ListenPacket(network, "127.0.0.1:0")
		},
	})
	if err != nil {
		sim.Close()
		t.Fatal(err)
	}
	pilot := tello.NewPilot(drone, tello.PilotOptions{})
	states, unsubscribe := drone.Subscribe()
	r, err := NewRouter(Options{Pilot: pilot, Telemetry: states, Events: pilot.Events(), WiFi: drone,
		WiFiInterval: 100 * time.Millisecond, TelemetryInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pilot.Run(runCtx) }()
	go func() { defer wg.Done(); r.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		wg.Wait() // the Pilot lands on the way out
		unsubscribe()
		drone.Close()
		sim.Close()
	})
	return &flight{sim: sim, drone: drone, pilot: pilot, r: r}
}

// sticker sends the sticks at 20 Hz on the page's stick channel, zeros
// included, until stopped; it returns when the last one is sent.
func sticker(p *page, roll, pitch, throttle, yaw int) (stop func() time.Time) {
	quit := make(chan struct{})
	last := make(chan time.Time)
	go func() {
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for seq := 0; ; seq++ {
			p.stk.SendText(fmt.Sprintf(`{"v":1,"type":"stick","roll":%d,"pitch":%d,"throttle":%d,"yaw":%d,"seq":%d}`,
				roll, pitch, throttle, yaw, seq))
			select {
			case <-quit:
				last <- time.Now()
				return
			case <-tk.C:
			}
		}
	}()
	return func() time.Time { close(quit); return <-last }
}

// TestFlyOverDataChannels is the stick path end to end: JSON on the
// unordered DataChannel → Router → tello.Pilot → "rc" datagrams at the
// simulator; and when the holder's page goes away, "rc 0 0 0 0" within
// 300 ms.
func TestFlyOverDataChannels(t *testing.T) {
	checkGoroutines(t)
	f := startFlight(t)
	for _, how := range []string{"page closes", "session ends"} {
		t.Run(how, func(t *testing.T) {
			p, closeAll := connect(t, f.r, "session-"+how)
			p.send(p.ctl, `{"v":1,"type":"hello"}`)
			p.await(TypeWelcome)
			p.await(TypeLeaseState)
			p.send(p.ctl, `{"v":1,"type":"lease.request"}`)
			if l := p.await(TypeLeaseState); l["you"] != true {
				t.Fatalf("lease %v", l)
			}
			if !f.sim.Flying() {
				p.send(p.ctl, `{"v":1,"type":"drone.takeoff"}`)
				if e := p.await(TypeEvent); e.str("kind") != "took-off" {
					t.Fatalf("event %v", e)
				}
			}
			from := len(f.sim.Commands())
			stop := sticker(p, 10, -20, 30, -40)
			if _, err := f.sim.WaitFor("rc 10 -20 30 -40", from, 2*time.Second); err != nil {
				t.Fatal(err)
			}
			tm := p.await(TypeTelemetry)
			waitUntil(t, "wifi in telemetry", func() bool { tm = p.await(TypeTelemetry); return tm.num("wifi") == 90 })
			if tm.str("phase") != "flying" || tm.num("bat") <= 0 || tm["h"] == nil {
				t.Fatalf("telemetry %v", tm)
			}

			last := stop()
			from = len(f.sim.Commands())
			gone := time.Now()
			if how == "page closes" {
				p.pc.Close() // camd notices the control channel closing
			} else {
				closeAll() // the session's Close calls detach
			}
			hover, err := f.sim.WaitFor("rc 0 0 0 0", from, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: rc 0 0 0 0 %v after, %v after the last stick message",
				how, hover.At.Sub(gone).Round(100*time.Microsecond), hover.At.Sub(last).Round(100*time.Microsecond))
			if d := hover.At.Sub(last); d > 300*time.Millisecond {
				t.Fatalf("hover %v after the last stick, want < 300 ms", d)
			}
			waitUntil(t, "lease ended", func() bool { return !f.r.Lease().Held })
			time.Sleep(200 * time.Millisecond) // a few Pilot ticks
			for _, c := range f.sim.Commands()[hover.Index:] {
				if strings.HasPrefix(c.Cmd, "rc ") && c.Cmd != "rc 0 0 0 0" {
					t.Fatalf("after the page left the drone got %q", c.Cmd)
				}
			}
		})
	}
}
