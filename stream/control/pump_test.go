package control

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/camd-project/camd/hw/tello"
)

type fakeWiFi struct {
	mu    sync.Mutex
	asked []string
	reply string
}

func (w *fakeWiFi) Command(_ context.Context, cmd string) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.asked = append(w.asked, cmd)
	if w.reply == "" {
		return "", errors.New("no reply")
	}
	return w.reply, nil
}

func (w *fakeWiFi) count() int { w.mu.Lock(); defer w.mu.Unlock(); return len(w.asked) }

// waitUntil polls cond for up to two seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 2 s", what)
		}
	}
}

func TestRunSendsTelemetryEventsAndWiFi(t *testing.T) {
	checkGoroutines(t)
	states := make(chan tello.State, 1)
	events := make(chan tello.Event, 4)
	wifi := &fakeWiFi{reply: "87\r\n"}
	g := newRig(t, Options{Telemetry: states, Events: events, WiFi: wifi})
	a, b := attach(t, g.r, "a", false), attach(t, g.r, "b", false)
	a.hello("")
	b.hello("")
	a.send(true, `{"v":1,"type":"lease.request"}`)
	a.next(TypeLeaseState)
	b.next(TypeLeaseState)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.r.Run(ctx) }()
	waitUntil(t, "tickers", func() bool { g.clk.mu.Lock(); defer g.clk.mu.Unlock(); return len(g.clk.tickers) == 2 })

	g.pilot.setPhase(tello.Flying)
	st := tello.State{Battery: 73, Height: 120, Pitch: -2, Roll: 3, Yaw: 45, TOF: 110,
		Known:    tello.FieldBattery | tello.FieldHeight | tello.FieldPitch | tello.FieldRoll | tello.FieldYaw | tello.FieldTOF,
		Received: g.clk.Now()}
	states <- st
	waitUntil(t, "state taken", func() bool { return len(states) == 0 })
	g.clk.Advance(200 * time.Millisecond) // one telemetry tick, no wifi? yet
	waitUntil(t, "telemetry", func() bool { return len(all(t, b.unordered)) == 1 })
	tm := all(t, b.unordered)[0]
	want := `map[age_ms:200 bat:73 h:120 phase:flying pitch:-2 roll:3 t:1.7000000002e+12 tof:110 type:telemetry v:1 wifi:-1 yaw:45]`
	if got := fmt.Sprint(map[string]any(tm)); got != want {
		t.Fatalf("telemetry\n got %s\nwant %s", got, want)
	}
	if wifi.count() != 0 {
		t.Fatal("wifi? asked early")
	}
	// No new state: no telemetry. The Wi-Fi SNR comes with the next one.
	g.clk.Advance(4800 * time.Millisecond)
	waitUntil(t, "wifi asked", func() bool { return wifi.count() == 1 })
	waitUntil(t, "wifi known", func() bool { g.r.mu.Lock(); defer g.r.mu.Unlock(); return g.r.wifi == 87 })
	if n := len(all(t, b.unordered)); n != 1 {
		t.Fatalf("%d telemetry messages without a new state", n)
	}
	states <- st
	waitUntil(t, "state taken", func() bool { return len(states) == 0 })
	g.clk.Advance(200 * time.Millisecond)
	waitUntil(t, "telemetry", func() bool { return len(all(t, b.unordered)) == 2 })
	if tm := all(t, b.unordered)[1]; tm.num("wifi") != 87 {
		t.Fatalf("telemetry %v", tm)
	}
	// A new viewer gets the last telemetry with its welcome.
	c := attach(t, g.r, "c", false)
	c.hello("")
	if ms := all(t, c.unordered); len(ms) != 1 || ms[0].str("type") != "telemetry" {
		t.Fatalf("c got %v", ms)
	}

	// No wifi? while the drone takes off or lands.
	g.pilot.setPhase(tello.Landing)
	g.clk.Advance(5 * time.Second)
	time.Sleep(20 * time.Millisecond)
	if n := wifi.count(); n != 1 {
		t.Fatalf("wifi? asked %d times, want 1", n)
	}

	events <- tello.Event{Kind: tello.EventBatteryLow, At: g.clk.Now(), Battery: 19}
	events <- tello.Event{Kind: tello.EventCommandFailed, At: g.clk.Now(), Command: "land", Err: errors.New("no reply")}
	for _, v := range []*fakeViewer{a, b} {
		if e := v.next(TypeEvent); e.str("kind") != "battery-low" || e.num("battery") != 19 || e.num("t") == 0 {
			t.Fatalf("%s got %v", v.id, e)
		}
		if e := v.next(TypeEvent); e.str("kind") != "command-failed" || e.str("command") != "land" || e.str("error") != "no reply" {
			t.Fatalf("%s got %v", v.id, e)
		}
	}

	// Stopping ends the lease: the drone hovers.
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, releases := g.pilot.stats(); releases != 1 {
		t.Fatalf("%d releases", releases)
	}
	for _, v := range []*fakeViewer{a, b} {
		if l := v.next(TypeLeaseState); l["holder"] != nil {
			t.Fatalf("%s got %v", v.id, l)
		}
	}
	// The lease still works, the hardware calls do not.
	a.send(true, `{"v":1,"type":"lease.request"}`)
	a.next(TypeLeaseState)
	a.send(true, `{"v":1,"type":"drone.takeoff"}`)
	if e := a.next(TypeError); e.str("code") != "failed" || e.str("msg") != "camd is stopping" {
		t.Fatalf("takeoff after Run: %v", e)
	}
}

func TestRunCancelsTakeoffInFlight(t *testing.T) {
	checkGoroutines(t)
	g := newRig(t, Options{})
	g.pilot.hold = make(chan struct{}) // never answers
	a := attach(t, g.r, "a", false)
	a.send(true, `{"v":1,"type":"lease.request"}`)
	a.next(TypeLeaseState)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.r.Run(ctx) }()
	a.send(true, `{"v":1,"type":"drone.takeoff"}`)
	<-g.pilot.calledBack
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return")
	}
	a.next(TypeLeaseState)
	if e := a.next(TypeError); e.str("code") != "failed" || e.str("msg") != "context canceled" {
		t.Fatalf("got %v", e)
	}
}
