package tello

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeAircraft records what the Pilot sends, on the fake clock.
type fakeAircraft struct {
	clk *fakeClock

	mu     sync.Mutex
	rcs    []rcCall
	cmds   []string
	fail   map[string][]error // errors to return, per command, in order
	state  State
	linked bool
}

type rcCall struct {
	at time.Time
	s  Stick
}

func newFakeAircraft(clk *fakeClock) *fakeAircraft {
	return &fakeAircraft{clk: clk, fail: map[string][]error{}, linked: true,
		state: State{Battery: 80, Known: FieldBattery | FieldHeight, Height: 0}}
}

func (f *fakeAircraft) Command(ctx context.Context, cmd string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds = append(f.cmds, cmd)
	if errs := f.fail[cmd]; len(errs) > 0 {
		f.fail[cmd] = errs[1:]
		return "", errs[0]
	}
	return "ok", nil
}

func (f *fakeAircraft) Emergency(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds = append(f.cmds, "emergency")
	return nil
}

func (f *fakeAircraft) RC(a, b, c, d int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rcs = append(f.rcs, rcCall{f.clk.Now(), Stick{a, b, c, d}})
	return nil
}

func (f *fakeAircraft) State() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *fakeAircraft) Linked() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.linked }

func (f *fakeAircraft) set(fn func(*fakeAircraft)) { f.mu.Lock(); fn(f); f.mu.Unlock() }

func (f *fakeAircraft) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmds...)
}

func (f *fakeAircraft) rcLog() []rcCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]rcCall(nil), f.rcs...)
}

// harness drives a Pilot's ticks by hand on a fake clock: every step
// advances RCInterval and runs one tick, then waits for the failsafe
// landings it started.
type harness struct {
	t   *testing.T
	clk *fakeClock
	ac  *fakeAircraft
	p   *Pilot
}

func newHarness(t *testing.T, opts PilotOptions) *harness {
	clk := newFakeClock()
	ac := newFakeAircraft(clk)
	opts.Clock = clk
	p := NewPilot(ac, opts)
	p.startedAt = clk.Now()
	return &harness{t: t, clk: clk, ac: ac, p: p}
}

func (h *harness) step() {
	h.clk.Advance(h.p.opts.RCInterval)
	h.p.tick()
	h.p.ops.Wait()
}

// fly steps for d, calling each (if not nil) before every step.
func (h *harness) fly(d time.Duration, each func()) {
	for end := h.clk.Now().Add(d); h.clk.Now().Before(end); {
		if each != nil {
			each()
		}
		h.step()
	}
}

func (h *harness) takeoff() {
	h.t.Helper()
	if err := h.p.Takeoff(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	if ph := h.p.Phase(); ph != Flying {
		h.t.Fatalf("phase after takeoff: %v", ph)
	}
}

// events drains the queued events.
func (h *harness) events() []EventKind {
	var ks []EventKind
	for {
		select {
		case e := <-h.p.Events():
			ks = append(ks, e.Kind)
		default:
			return ks
		}
	}
}

func landedAt(h *harness) (int, bool) {
	for i, c := range h.ac.commands() {
		if c == "land" {
			return i, true
		}
	}
	return 0, false
}

func TestSticksAreRepeatedWhileFlying(t *testing.T) {
	h := newHarness(t, PilotOptions{})
	h.p.Stick(Stick{Pitch: 40})
	h.step()
	if n := len(h.ac.rcLog()); n != 0 {
		t.Fatalf("%d rc sent on the ground", n)
	}
	h.takeoff()
	h.fly(time.Second, func() { h.p.Stick(Stick{Roll: -150, Pitch: 40, Throttle: 5, Yaw: 7}) })
	rcs := h.ac.rcLog()
	if len(rcs) != 20 {
		t.Fatalf("%d rc in 1 s, want 20", len(rcs))
	}
	for _, r := range rcs {
		if r.s != (Stick{-100, 40, 5, 7}) {
			t.Fatalf("rc %+v, want the clamped sticks", r.s)
		}
	}
}

func TestHoverWithin300msOfTheLastStick(t *testing.T) {
	h := newHarness(t, PilotOptions{})
	h.takeoff()
	h.clk.Advance(13 * time.Millisecond) // sticks and ticks out of step
	var last time.Time
	h.fly(2*time.Second, func() { h.p.Stick(Stick{Pitch: 30}); last = h.clk.Now() })
	h.fly(time.Second, nil)
	var hoverAt time.Time
	for _, r := range h.ac.rcLog() {
		switch {
		case r.s == Stick{} && hoverAt.IsZero():
			hoverAt = r.at
			if r.at.Before(last) {
				t.Fatalf("hover at %v, before the last stick at %v", r.at, last)
			}
		case r.s != Stick{} && !hoverAt.IsZero():
			t.Fatalf("sticks sent again after the hover: %+v", r)
		}
	}
	if hoverAt.IsZero() {
		t.Fatal("no hover after input stopped")
	}
	lag := hoverAt.Sub(last)
	t.Logf("hover %v after the last stick input", lag)
	if lag > 300*time.Millisecond || lag <= h.p.opts.StickTimeout {
		t.Fatalf("hover %v after the last input, want within (StickTimeout, 300 ms]", lag)
	}
	if ev := h.events(); fmt.Sprint(ev) != "[took-off hover]" {
		t.Errorf("events %v", ev)
	}
}

func TestReleaseHoversAtOnce(t *testing.T) {
	h := newHarness(t, PilotOptions{})
	h.takeoff()
	h.fly(500*time.Millisecond, func() { h.p.Stick(Stick{Yaw: 60}) })
	at := h.clk.Now()
	h.p.Release()
	rcs := h.ac.rcLog()
	if r := rcs[len(rcs)-1]; r.s != (Stick{}) || !r.at.Equal(at) {
		t.Fatalf("last rc %+v at %v, want zero sticks at the Release (%v)", r.s, r.at, at)
	}
	h.fly(time.Second, nil)
	for _, r := range h.ac.rcLog()[len(rcs):] {
		if r.s != (Stick{}) {
			t.Fatalf("sticks after Release: %+v", r)
		}
	}
}

func TestNoControllerLands(t *testing.T) {
	h := newHarness(t, PilotOptions{ControllerTimeout: 10 * time.Second})
	h.takeoff()
	var last time.Time
	h.fly(30*time.Second, func() { h.p.Stick(Stick{Throttle: 10}); last = h.clk.Now() })
	if _, landed := landedAt(h); landed {
		t.Fatal("landed while the controller was sending")
	}
	h.p.Release()
	for h.p.Phase() == Flying && h.clk.Now().Sub(last) < time.Minute {
		h.step()
	}
	idle := h.clk.Now().Sub(last)
	if h.p.Phase() != Grounded || idle < 10*time.Second || idle > 10*time.Second+h.p.opts.RCInterval {
		t.Fatalf("phase %v after %v without a controller; want landed at 10 s", h.p.Phase(), idle)
	}
	if ev := h.events(); fmt.Sprint(ev) != "[took-off hover controller-lost landed]" {
		t.Errorf("events %v", ev)
	}
	n := len(h.ac.rcLog())
	h.fly(time.Second, nil)
	if len(h.ac.rcLog()) != n {
		t.Error("rc sent after landing")
	}
}

func TestFailedLandingIsRetried(t *testing.T) {
	h := newHarness(t, PilotOptions{ControllerTimeout: time.Second})
	h.ac.set(func(f *fakeAircraft) {
		f.fail["land"] = []error{fmt.Errorf("wrapped: %w", ErrNoReply), fmt.Errorf("wrapped: %w", ErrNoReply)}
	})
	h.takeoff()
	h.fly(2*time.Second, nil)
	lands := 0
	for _, c := range h.ac.commands() {
		if c == "land" {
			lands++
		}
	}
	if lands != 3 || h.p.Phase() != Grounded {
		t.Fatalf("land sent %d times, phase %v; want 3 and grounded", lands, h.p.Phase())
	}
	want := "[took-off controller-lost command-failed controller-lost command-failed controller-lost landed]"
	if ev := h.events(); fmt.Sprint(ev) != want {
		t.Errorf("events %v\nwant   %s", ev, want)
	}
}

func TestBattery(t *testing.T) {
	h := newHarness(t, PilotOptions{})
	h.takeoff()
	h.ac.set(func(f *fakeAircraft) { f.state.Battery = 20 })
	h.fly(time.Second, func() { h.p.Stick(Stick{}) })
	if ev := h.events(); fmt.Sprint(ev) != "[took-off]" {
		t.Fatalf("events at 20%%: %v", ev)
	}
	h.ac.set(func(f *fakeAircraft) { f.state.Battery = 19 })
	h.fly(time.Second, func() { h.p.Stick(Stick{}) })
	if ev := h.events(); fmt.Sprint(ev) != "[battery-low]" {
		t.Fatalf("events at 19%%: %v, want one warning", ev)
	}
	if _, landed := landedAt(h); landed {
		t.Fatal("landed at 19%")
	}
	h.ac.set(func(f *fakeAircraft) { f.state.Battery = 9 })
	h.fly(time.Second, func() { h.p.Stick(Stick{Pitch: 50}) })
	if ev := h.events(); fmt.Sprint(ev) != "[battery-critical landed]" {
		t.Fatalf("events at 9%%: %v", ev)
	}
	err := h.p.Takeoff(context.Background())
	if !errors.Is(err, ErrLowBattery) || h.p.Phase() != Grounded {
		t.Fatalf("takeoff at 9%%: %v, phase %v", err, h.p.Phase())
	}
}

func TestUnknownBatteryIsNotEmpty(t *testing.T) {
	h := newHarness(t, PilotOptions{})
	h.ac.set(func(f *fakeAircraft) { f.state = State{} })
	h.takeoff()
	h.fly(time.Second, func() { h.p.Stick(Stick{}) })
	if ev := h.events(); fmt.Sprint(ev) != "[took-off]" {
		t.Fatalf("events without a battery reading: %v", ev)
	}
}

func TestLinkEvents(t *testing.T) {
	h := newHarness(t, PilotOptions{})
	h.step()
	h.ac.set(func(f *fakeAircraft) { f.linked = false })
	h.step()
	h.step()
	h.ac.set(func(f *fakeAircraft) { f.linked = true })
	h.step()
	if ev := h.events(); fmt.Sprint(ev) != "[link-lost link-restored]" {
		t.Fatalf("events %v", ev)
	}

	h = newHarness(t, PilotOptions{})
	h.ac.set(func(f *fakeAircraft) { f.linked = false })
	h.fly(linkGrace-h.p.opts.RCInterval, nil)
	if ev := h.events(); len(ev) != 0 {
		t.Fatalf("events before the grace period: %v", ev)
	}
	h.fly(5*time.Second, nil)
	if ev := h.events(); fmt.Sprint(ev) != "[link-lost]" {
		t.Fatalf("a link that never came up: %v", ev)
	}
}

func TestTakeoffOutcomes(t *testing.T) {
	h := newHarness(t, PilotOptions{})
	h.ac.set(func(f *fakeAircraft) {
		f.fail["takeoff"] = []error{fmt.Errorf("x: %w", ErrRefused), fmt.Errorf("x: %w", ErrNoReply)}
	})
	if err := h.p.Takeoff(context.Background()); !errors.Is(err, ErrRefused) || h.p.Phase() != Grounded {
		t.Fatalf("refused takeoff: %v, phase %v", err, h.p.Phase())
	}
	if err := h.p.Takeoff(context.Background()); !errors.Is(err, ErrNoReply) || h.p.Phase() != Flying {
		t.Fatalf("unanswered takeoff: %v, phase %v; the drone may be up", err, h.p.Phase())
	}
	if err := h.p.Emergency(context.Background()); err != nil || h.p.Phase() != Grounded {
		t.Fatalf("emergency: %v, phase %v", err, h.p.Phase())
	}
	n := len(h.ac.rcLog())
	h.fly(time.Second, func() { h.p.Stick(Stick{Pitch: 10}) })
	if len(h.ac.rcLog()) != n {
		t.Error("rc sent after emergency")
	}
}

func TestLandRefusedOnTheGround(t *testing.T) {
	h := newHarness(t, PilotOptions{})
	h.ac.set(func(f *fakeAircraft) { f.fail["land"] = []error{fmt.Errorf("x: %w", ErrRefused)} })
	if err := h.p.Land(context.Background()); err != nil || h.p.Phase() != Grounded {
		t.Fatalf("land on the ground (height 0): %v, phase %v", err, h.p.Phase())
	}
}

func TestEventQueueDropsOldest(t *testing.T) {
	h := newHarness(t, PilotOptions{EventQueue: 2})
	for i := 0; i < 5; i++ {
		h.p.Emergency(context.Background())
	}
	if got := len(h.events()); got != 2 || h.p.EventsDropped() != 3 {
		t.Fatalf("queued %d, dropped %d; want 2 and 3", got, h.p.EventsDropped())
	}
}

func TestEmergencyDuringTakeoffStaysGrounded(t *testing.T) {
	h := newHarness(t, PilotOptions{})
	entered, release := make(chan struct{}), make(chan struct{})
	blocking := &blockingAircraft{fakeAircraft: h.ac, entered: entered, release: release}
	h.p.ac = blocking
	done := make(chan error, 1)
	go func() { done <- h.p.Takeoff(context.Background()) }()
	<-entered
	if err := h.p.Emergency(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(release) // the takeoff now gets an "ok" (the emergency's, on a real link)
	if err := <-done; err == nil || h.p.Phase() != Grounded {
		t.Fatalf("takeoff answered after an emergency: %v, phase %v", err, h.p.Phase())
	}
}

// blockingAircraft holds takeoff until released.
type blockingAircraft struct {
	*fakeAircraft
	entered, release chan struct{}
}

func (b *blockingAircraft) Command(ctx context.Context, cmd string) (string, error) {
	if cmd == "takeoff" {
		close(b.entered)
		<-b.release
	}
	return b.fakeAircraft.Command(ctx, cmd)
}
