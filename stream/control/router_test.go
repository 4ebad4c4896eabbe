package control

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/camd-project/camd/hw/tello"
)

type rig struct {
	r      *Router
	clk    *fakeClock
	pilot  *fakePilot
	serial *fakeSerial
}

func newRig(t *testing.T, o Options) *rig {
	t.Helper()
	g := &rig{clk: newFakeClock(), pilot: newFakePilot(), serial: &fakeSerial{}}
	o.Clock = g.clk
	if o.Pilot == nil {
		o.Pilot = g.pilot
	}
	if o.Serial == nil {
		o.Serial = g.serial
	}
	if o.Commands == nil {
		o.Commands = []Command{
			{Name: "pan", Label: "Pan", Send: "P{n}\n", Min: -90, Max: 90},
			{Name: "home", Send: "H\n"},
		}
	}
	o.SerialPort = "/dev/ttyUSB0"
	r, err := NewRouter(o)
	if err != nil {
		t.Fatal(err)
	}
	g.r = r
	return g
}

func TestWelcomeDescribesTheHardware(t *testing.T) {
	g := newRig(t, Options{})
	a := attach(t, g.r, "session-secret-a", false)
	a.send(true, `{"v":1,"type":"hello","name":"  alice  "}`)
	w := a.next(TypeWelcome)
	want := `map[control:true hardware:map[drone:map[model:tello] serial:map[commands:[map[label:Pan max:90 min:-90 n:true name:pan] map[label:home n:false name:home]] connected:false port:/dev/ttyUSB0]] lease:map[idle_ms:60000] max_message:4096 stick:map[hz:20] time:1.7e+12 type:welcome v:1 viewer:v1]`
	if got := fmt.Sprint(map[string]any(w)); got != want {
		t.Fatalf("welcome\n got %s\nwant %s", got, want)
	}
	if l := a.next(TypeLeaseState); l["holder"] != nil || l["you"] != false {
		t.Fatalf("lease state %v", l)
	}
	if s := a.next(TypeSerialStatus); s["connected"] != false || s.str("port") != "/dev/ttyUSB0" {
		t.Fatalf("serial status %v", s)
	}
	a.none()

	// Without hardware the welcome says so.
	bare, err := NewRouter(Options{Clock: g.clk})
	if err != nil {
		t.Fatal(err)
	}
	if bare.HasHardware() || !g.r.HasHardware() {
		t.Fatal("HasHardware is wrong")
	}
	b := attach(t, bare, "b", false)
	w = b.hello("")
	if hw := w["hardware"].(map[string]any); hw["drone"] != nil || hw["serial"] != nil {
		t.Fatalf("hardware %v", hw)
	}
}

func TestLeaseFirstComeAndRelease(t *testing.T) {
	g := newRig(t, Options{})
	a, b := attach(t, g.r, "a", false), attach(t, g.r, "b", false)
	a.hello("alice")
	b.hello("")

	a.send(true, `{"v":1,"type":"lease.request"}`)
	if l := a.next(TypeLeaseState); l.str("holder") != "v1" || l.str("name") != "alice" || l["you"] != true {
		t.Fatalf("a sees %v", l)
	}
	if l := b.next(TypeLeaseState); l.str("holder") != "v1" || l["you"] != false || l.num("since") != 1.7e12 {
		t.Fatalf("b sees %v", l)
	}
	if st := g.r.Lease(); !st.Held || st.Holder != "v1" || st.Name != "alice" {
		t.Fatalf("Lease() = %+v", st)
	}

	// b is refused with the holder's name, and told the state.
	g.clk.Advance(45 * time.Second)
	b.send(true, `{"v":1,"type":"lease.request","id":7}`)
	if e := b.next(TypeError); e.str("code") != "lease-held" || e.num("id") != 7 || e.str("re") != "lease.request" ||
		e.str("msg") != "v1 (alice) has held the lease for 45s" {
		t.Fatalf("b got %v", e)
	}
	b.next(TypeLeaseState)

	// b's sticks are refused, with one error per second, not twenty.
	for range 20 {
		b.send(false, `{"v":1,"type":"stick","roll":50,"pitch":0,"throttle":0,"yaw":0}`)
	}
	if e := b.next(TypeError); e.str("code") != "no-lease" {
		t.Fatalf("b got %v", e)
	}
	b.none()
	g.clk.Advance(time.Second)
	b.send(false, `{"v":1,"type":"stick","roll":50,"pitch":0,"throttle":0,"yaw":0}`)
	b.next(TypeError)
	for _, typ := range []string{"drone.takeoff", "serial.cmd\",\"name\":\"home", "lease.release"} {
		b.send(true, `{"v":1,"type":"%s"}`, typ)
		if e := b.next(TypeError); e.str("code") != "no-lease" {
			t.Fatalf("b's %s: %v", typ, e)
		}
	}
	if sticks, _ := g.pilot.stats(); len(sticks) != 0 {
		t.Fatalf("b flew: %v", sticks)
	}

	// a flies, then releases: the drone hovers at once.
	a.send(false, `{"v":1,"type":"stick","roll":-100,"pitch":20,"throttle":30,"yaw":100}`)
	a.send(true, `{"v":1,"type":"lease.release"}`)
	sticks, releases := g.pilot.stats()
	if fmt.Sprint(sticks) != "[{-100 20 30 100}]" || releases != 1 {
		t.Fatalf("pilot got sticks %v, %d releases", sticks, releases)
	}
	for _, v := range []*fakeViewer{a, b} {
		if l := v.next(TypeLeaseState); l["holder"] != nil {
			t.Fatalf("%s sees %v", v.id, l)
		}
	}
	b.send(true, `{"v":1,"type":"lease.request"}`)
	if l := b.next(TypeLeaseState); l.str("holder") != "v2" || l["you"] != true {
		t.Fatalf("b sees %v", l)
	}
}

func TestHolderDisconnectReleasesAtOnce(t *testing.T) {
	g := newRig(t, Options{})
	a, b := attach(t, g.r, "a", false), attach(t, g.r, "b", false)
	a.hello("")
	b.hello("")
	a.send(true, `{"v":1,"type":"lease.request"}`)
	b.next(TypeLeaseState)
	a.detach()
	a.detach() // twice is fine
	if _, releases := g.pilot.stats(); releases != 1 {
		t.Fatalf("%d releases, want 1", releases)
	}
	if l := b.next(TypeLeaseState); l["holder"] != nil {
		t.Fatalf("b sees %v", l)
	}
	a.send(true, `{"v":1,"type":"lease.request"}`) // detached: ignored
	if g.r.Lease().Held {
		t.Fatal("a detached viewer took the lease")
	}

	// A viewer attached again under the same id replaces the old one,
	// which loses the lease.
	c := attach(t, g.r, "c", false)
	c.send(true, `{"v":1,"type":"lease.request"}`)
	c2 := attach(t, g.r, "c", false)
	if g.r.Lease().Held {
		t.Fatal("the replaced viewer kept the lease")
	}
	c.detach() // the old detach does not remove the new viewer
	c2.send(true, `{"v":1,"type":"lease.request"}`)
	if !g.r.Lease().Held {
		t.Fatal("the new viewer was removed by the old detach")
	}
}

func TestLeaseIdleTimeout(t *testing.T) {
	g := newRig(t, Options{IdleTimeout: time.Minute})
	a := attach(t, g.r, "a", false)
	a.hello("")
	a.send(true, `{"v":1,"type":"lease.request"}`)
	a.next(TypeLeaseState)

	// Zero sticks hold the drone still but are not activity.
	for range 59 {
		g.clk.Advance(time.Second)
		a.send(false, `{"v":1,"type":"stick","roll":0,"pitch":0,"throttle":0,"yaw":0}`)
	}
	if !g.r.Lease().Held {
		t.Fatal("released before the idle timeout")
	}
	// A command is activity: 60 s from now.
	a.send(true, `{"v":1,"type":"serial.cmd","name":"home"}`)
	g.clk.Advance(59 * time.Second)
	a.send(false, `{"v":1,"type":"stick","roll":0,"pitch":1,"throttle":0,"yaw":0}`) // non-zero: activity
	g.clk.Advance(59 * time.Second)
	if !g.r.Lease().Held {
		t.Fatal("released although active")
	}
	// In the air the lease never idles out.
	g.pilot.setPhase(tello.Flying)
	g.clk.Advance(10 * time.Minute)
	if !g.r.Lease().Held {
		t.Fatal("the lease idled out in flight")
	}
	g.pilot.setPhase(tello.Grounded)
	_, before := g.pilot.stats()
	g.clk.Advance(time.Minute)
	if g.r.Lease().Held {
		t.Fatal("not released after a minute idle on the ground")
	}
	if _, after := g.pilot.stats(); after != before+1 {
		t.Fatal("idle release did not release the pilot")
	}
	if l := a.next(TypeLeaseState); l["holder"] != nil {
		t.Fatalf("a sees %v", l)
	}
}

func TestStickSequenceLatestWins(t *testing.T) {
	g := newRig(t, Options{})
	a := attach(t, g.r, "a", false)
	a.send(true, `{"v":1,"type":"lease.request"}`)
	for _, s := range []string{
		`"roll":1,"pitch":0,"throttle":0,"yaw":0,"seq":5`,
		`"roll":2,"pitch":0,"throttle":0,"yaw":0,"seq":3`, // overtaken: dropped
		`"roll":3,"pitch":0,"throttle":0,"yaw":0,"seq":5`, // repeated: dropped
		`"roll":4,"pitch":0,"throttle":0,"yaw":0,"seq":6`,
		`"roll":5,"pitch":0,"throttle":0,"yaw":0`, // no seq: taken
	} {
		a.send(false, `{"v":1,"type":"stick",%s}`, s)
	}
	if sticks, _ := g.pilot.stats(); fmt.Sprint(sticks) != "[{1 0 0 0} {4 0 0 0} {5 0 0 0}]" {
		t.Fatalf("sticks %v", sticks)
	}
	// A new lease starts the sequence again (a reloaded page counts from 0).
	a.send(true, `{"v":1,"type":"lease.release"}`)
	a.send(true, `{"v":1,"type":"lease.request"}`)
	a.send(false, `{"v":1,"type":"stick","roll":6,"pitch":0,"throttle":0,"yaw":0,"seq":0}`)
	if sticks, _ := g.pilot.stats(); len(sticks) != 4 {
		t.Fatalf("sticks %v", sticks)
	}
}

func TestAuthorize(t *testing.T) {
	g := newRig(t, Options{Authorize: func(_ string, auth bool) bool { return auth }})
	anon, user := attach(t, g.r, "anon", false), attach(t, g.r, "user", true)
	if w := anon.hello(""); w["control"] != false {
		t.Fatalf("anon welcome %v", w)
	}
	if w := user.hello(""); w["control"] != true {
		t.Fatalf("user welcome %v", w)
	}
	anon.send(true, `{"v":1,"type":"lease.request"}`)
	if e := anon.next(TypeError); e.str("code") != "unauthorized" {
		t.Fatalf("anon got %v", e)
	}
	anon.send(true, `{"v":1,"type":"drone.takeoff"}`)
	if e := anon.next(TypeError); e.str("code") != "unauthorized" {
		t.Fatalf("anon got %v", e)
	}
	user.send(true, `{"v":1,"type":"lease.request"}`)
	if l := user.next(TypeLeaseState); l["you"] != true {
		t.Fatalf("user got %v", l)
	}
}

func TestDroneCommands(t *testing.T) {
	checkGoroutines(t)
	g := newRig(t, Options{})
	a := attach(t, g.r, "a", false)
	a.send(true, `{"v":1,"type":"lease.request"}`)
	a.next(TypeLeaseState)

	g.pilot.err = errors.New("tello.Pilot.Takeoff: battery too low to take off: 8%, need 10%")
	a.send(true, `{"v":1,"type":"drone.takeoff","id":12}`)
	if c := <-g.pilot.calledBack; c != "takeoff" {
		t.Fatalf("pilot got %s", c)
	}
	if e := a.next(TypeError); e.str("code") != "failed" || e.num("id") != 12 || e.str("re") != "drone.takeoff" ||
		e.str("msg") != g.pilot.err.Error() {
		t.Fatalf("got %v", e)
	}
	g.pilot.err = nil

	// A landing in progress does not hold up the emergency stop.
	g.pilot.hold = make(chan struct{})
	a.send(true, `{"v":1,"type":"drone.land"}`)
	<-g.pilot.calledBack
	a.send(true, `{"v":1,"type":"drone.emergency"}`)
	if c := <-g.pilot.calledBack; c != "emergency" {
		t.Fatalf("pilot got %s", c)
	}
	close(g.pilot.hold)
	a.none()

	bare, err := NewRouter(Options{Clock: g.clk})
	if err != nil {
		t.Fatal(err)
	}
	b := attach(t, bare, "b", false)
	b.send(true, `{"v":1,"type":"lease.request"}`)
	b.next(TypeLeaseState)
	for _, m := range []string{`"drone.land"`, `"serial.send","text":"x"`} {
		b.send(true, `{"v":1,"type":%s}`, m)
		if e := b.next(TypeError); e.str("code") != "no-hardware" {
			t.Fatalf("%s without hardware: %v", m, e)
		}
	}
	b.send(false, `{"v":1,"type":"stick","roll":0,"pitch":0,"throttle":0,"yaw":0}`)
	if e := b.next(TypeError); e.str("code") != "no-hardware" {
		t.Fatalf("stick without a drone: %v", e)
	}
}

func TestPingPong(t *testing.T) {
	g := newRig(t, Options{})
	a := attach(t, g.r, "a", false)
	a.send(false, `{"v":1,"type":"ping","t":1234.5}`)
	ms := all(t, a.unordered)
	if len(ms) != 1 || ms[0].str("type") != "pong" || ms[0].num("t") != 1234.5 || ms[0].num("time") != 1.7e12 {
		t.Fatalf("unordered got %v", ms)
	}
	// A ping on the reliable channel, or a closed unordered one, is
	// answered on the reliable one.
	a.send(true, `{"v":1,"type":"ping","t":1}`)
	a.next(TypePong)
	a.unordered.fail = true
	a.send(false, `{"v":1,"type":"ping","t":2}`)
	if p := a.next(TypePong); p.num("t") != 2 {
		t.Fatalf("got %v", p)
	}
}

func TestBadMessagesGetErrors(t *testing.T) {
	g := newRig(t, Options{})
	a := attach(t, g.r, "a", false)
	a.send(true, `{"v":2,"type":"hello","id":5}`)
	if e := a.next(TypeError); e.str("code") != "version" || e.num("id") != 5 {
		t.Fatalf("got %v", e)
	}
	a.send(true, `not json`)
	a.next(TypeError)
	g.r.Handle("a", true, make([]byte, MaxMessage+1))
	if e := a.next(TypeError); e.str("code") != "too-big" {
		t.Fatalf("got %v", e)
	}
	g.r.Handle("nobody", true, []byte(`{"v":1,"type":"lease.request"}`))
	if g.r.Lease().Held {
		t.Fatal("an unknown viewer took the lease")
	}
}

func TestNewRouterChecksCommands(t *testing.T) {
	s := &fakeSerial{}
	for _, cs := range [][]Command{
		{{Name: "Pan", Send: "x"}},
		{{Name: "pan", Send: ""}},
		{{Name: "pan", Send: "x"}, {Name: "pan", Send: "y"}},
		{{Name: "pan", Send: "P{n}", Min: 5, Max: -5}},
	} {
		if _, err := NewRouter(Options{Serial: s, Commands: cs}); err == nil {
			t.Errorf("NewRouter accepted %+v", cs)
		}
	}
	if _, err := NewRouter(Options{Commands: []Command{{Name: "pan", Send: "x"}}}); err == nil {
		t.Error("NewRouter accepted commands without a serial port")
	}
	// A nil pointer in an interface is no hardware, not a crash.
	var p *fakePilot
	var sp *fakeSerial
	r, err := NewRouter(Options{Pilot: p, Serial: sp})
	if err != nil || r.HasHardware() {
		t.Fatalf("NewRouter with nil pointers: %v, hardware %v", err, r.HasHardware())
	}
}
