package tello

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/camd-project/camd/hw/tello/tellosim"
)

func TestRunTicksOnTheClockAndLandsOnShutdown(t *testing.T) {
	checkGoroutines(t)
	clk := newFakeClock()
	ac := newFakeAircraft(clk)
	p := NewPilot(ac, PilotOptions{Clock: clk})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	if err := p.Takeoff(ctx); err != nil {
		t.Fatal(err)
	}
	p.Stick(Stick{Pitch: 20})
	waitUntil(t, "an rc from the Run loop", func() bool {
		clk.Advance(10 * time.Millisecond)
		return len(ac.rcLog()) > 0
	})
	if err := p.Run(ctx); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	cmds := ac.commands()
	if cmds[len(cmds)-1] != "land" || p.Phase() != Grounded {
		t.Fatalf("commands %v, phase %v: want a landing before Run returns", cmds, p.Phase())
	}
	var kinds []EventKind
	for e := range p.Events() { // closed by Run
		kinds = append(kinds, e.Kind)
	}
	if fmt.Sprint(kinds) != "[took-off shutdown landed]" {
		t.Errorf("events %v", kinds)
	}
	if err := p.Takeoff(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("takeoff after Run: %v", err)
	}
}

func TestShutdownWaitsForATakeoffInFlight(t *testing.T) {
	checkGoroutines(t)
	sim, d := startSim(t, tellosim.Options{TakeoffTime: 300 * time.Millisecond}, Options{})
	p := NewPilot(d, PilotOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	took := make(chan error, 1)
	go func() { took <- p.Takeoff(context.Background()) }()
	if _, err := sim.WaitFor("takeoff", 0, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := <-took; err != nil {
		t.Fatalf("Takeoff: %v", err)
	}
	if _, err := sim.WaitFor("land", 0, 0); err != nil || sim.Flying() {
		t.Fatalf("no landing after a takeoff that finished during shutdown: %v, flying %v", err, sim.Flying())
	}
}

// TestHoverReachesTheDrone runs in real time against the simulator: the
// hover must arrive within 300 ms of the last stick input, measured on the
// simulator's receive times.
func TestHoverReachesTheDrone(t *testing.T) {
	checkGoroutines(t)
	sim, d := startSim(t, tellosim.Options{}, Options{})
	p := NewPilot(d, PilotOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if sim.Flying() {
			t.Error("still flying after Run returned")
		}
	}()
	if err := p.Takeoff(ctx); err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for i := 0; i < 10; i++ {
		p.Stick(Stick{Pitch: 30})
		last = time.Now()
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := sim.WaitFor("rc 0 30 0 0", 0, time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // let the hover come
	// The hover is the first zero stick after the last forward one.
	log := sim.Commands()
	lastFwd := -1
	for _, r := range log {
		if r.Cmd == "rc 0 30 0 0" {
			lastFwd = r.Index
		}
	}
	var hover tellosim.Recorded
	for _, r := range log[lastFwd+1:] {
		if r.Cmd == "rc 0 0 0 0" {
			hover = r
			break
		}
	}
	if hover.At.IsZero() {
		t.Fatalf("no hover 400 ms after the last input; log %+v", log[lastFwd:])
	}
	lag := hover.At.Sub(last)
	t.Logf("hover reached the drone %v after the last stick input", lag.Round(time.Millisecond))
	if lag > 300*time.Millisecond || lag < 0 {
		t.Fatalf("hover %v after the last input, want at most 300 ms", lag)
	}
}
