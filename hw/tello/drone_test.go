package tello

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camd-project/camd/hw/tello/tellosim"
)

func TestCommandRoundTrip(t *testing.T) {
	checkGoroutines(t)
	sim, d := startSim(t, tellosim.Options{Battery: 64, SNR: 81}, Options{})
	ctx := context.Background()
	for _, tc := range []struct{ cmd, want string }{
		{"battery?", "64"},
		{"wifi?", "81"},
		{"streamon", "ok"},
		{"takeoff", "ok"},
		{"up 50", "ok"},
		{"land", "ok"},
	} {
		got, err := d.Command(ctx, tc.cmd)
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.cmd, got, err, tc.want)
		}
	}
	got, err := d.Command(ctx, "land")
	if !errors.Is(err, ErrRefused) || got != "error Not joystick" {
		t.Errorf("land on the ground: %q, %v; want the drone's error and ErrRefused", got, err)
	}
	if err := d.RC(150, -30, 0, -101); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.WaitFor("rc 100 -30 0 -100", 0, 2*time.Second); err != nil {
		t.Errorf("RC was not clamped: %v; log %+v", err, sim.Commands())
	}
	var cmds []string
	for _, r := range sim.Commands() {
		cmds = append(cmds, r.Cmd)
	}
	want := "command battery? wifi? streamon takeoff up 50 land land rc 100 -30 0 -100"
	if strings.Join(cmds, " ") != want {
		t.Errorf("the simulator got %q, want %q (no retries, nothing extra)", strings.Join(cmds, " "), want)
	}
}

func TestCommandRetriesLostReplies(t *testing.T) {
	checkGoroutines(t)
	sim, d := startSim(t, tellosim.Options{Battery: 55}, Options{CommandTimeout: 100 * time.Millisecond, Tries: 3})
	sim.DropReplies(2)
	n := len(sim.Commands())
	got, err := d.Command(context.Background(), "battery?")
	if err != nil || got != "55" {
		t.Fatalf("battery? with two replies lost: %q, %v", got, err)
	}
	if sent := len(sim.Commands()) - n; sent != 3 {
		t.Errorf("sent %d times, want 3", sent)
	}

	sim.DropReplies(3)
	n = len(sim.Commands())
	_, err = d.Command(context.Background(), "battery?")
	if !errors.Is(err, ErrNoReply) {
		t.Fatalf("three replies lost: %v, want ErrNoReply", err)
	}
	if sent := len(sim.Commands()) - n; sent != 3 {
		t.Errorf("sent %d times, want 3", sent)
	}
}

func TestMovesAreNotRetried(t *testing.T) {
	checkGoroutines(t)
	sim, d := startSim(t, tellosim.Options{}, Options{MotionTimeout: 100 * time.Millisecond})
	if _, err := d.Command(context.Background(), "takeoff"); err != nil {
		t.Fatal(err)
	}
	sim.DropReplies(1)
	n := len(sim.Commands())
	if _, err := d.Command(context.Background(), "forward 50"); !errors.Is(err, ErrNoReply) {
		t.Fatalf("forward with its reply lost: %v", err)
	}
	if sent := len(sim.Commands()) - n; sent != 1 {
		t.Errorf("forward sent %d times: a lost reply must not double a move", sent)
	}
	// The next command still gets its own reply.
	if got, err := d.Command(context.Background(), "battery?"); err != nil || got != "100" {
		t.Errorf("battery? after a lost reply: %q, %v", got, err)
	}
}

func TestLateReplyIsDiscarded(t *testing.T) {
	checkGoroutines(t)
	_, d := startSim(t, tellosim.Options{TakeoffTime: 150 * time.Millisecond},
		Options{MotionTimeout: 50 * time.Millisecond, Tries: 1})
	if _, err := d.Command(context.Background(), "takeoff"); !errors.Is(err, ErrNoReply) {
		t.Fatalf("takeoff answered after 150 ms with a 50 ms timeout: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // the late "ok" arrives now
	// A second takeoff is refused: the late "ok" must not pass for its reply.
	got, err := d.Command(context.Background(), "takeoff")
	if !errors.Is(err, ErrRefused) || got != "error" {
		t.Fatalf("takeoff while flying, after a late ok: %q, %v; want the drone's error", got, err)
	}
}

func TestBadCommands(t *testing.T) {
	checkGoroutines(t)
	sim, d := startSim(t, tellosim.Options{}, Options{})
	n := len(sim.Commands())
	for _, c := range []string{"", "   ", "rc 0 0 0 0", "take\noff", strings.Repeat("x", 200), "bat\xffery?"} {
		if _, err := d.Command(context.Background(), c); !errors.Is(err, ErrBadCommand) {
			t.Errorf("Command(%q): %v, want ErrBadCommand", c, err)
		}
	}
	if got := len(sim.Commands()) - n; got != 0 {
		t.Errorf("bad commands reached the drone: %d", got)
	}
}

func TestEmergencyJumpsTheQueue(t *testing.T) {
	checkGoroutines(t)
	sim, d := startSim(t, tellosim.Options{TakeoffTime: 500 * time.Millisecond}, Options{})
	done := make(chan error, 1)
	go func() { _, err := d.Command(context.Background(), "takeoff"); done <- err }()
	if _, err := sim.WaitFor("takeoff", 0, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := d.Emergency(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err := sim.WaitFor("emergency", 0, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if lag := r.At.Sub(start); lag > 200*time.Millisecond {
		t.Errorf("emergency reached the drone %v after the call, behind the takeoff in flight", lag)
	}
	if sim.Flying() {
		t.Error("still flying after emergency")
	}
	// The repeats are separate datagrams: the simulator may still be
	// reading them when the first one is seen.
	count := 0
	for end := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		count = 0
		for _, r := range sim.Commands() {
			if r.Cmd == "emergency" {
				count++
			}
		}
		if count >= EmergencyRepeats || time.Now().After(end) {
			break
		}
	}
	if count != EmergencyRepeats {
		t.Errorf("emergency sent %d times, want %d", count, EmergencyRepeats)
	}
	<-done
}

func TestCommandWaitsForTheOneInFlight(t *testing.T) {
	checkGoroutines(t)
	sim, d := startSim(t, tellosim.Options{TakeoffTime: 200 * time.Millisecond}, Options{})
	done := make(chan string, 1)
	go func() { r, _ := d.Command(context.Background(), "takeoff"); done <- r }()
	if _, err := sim.WaitFor("takeoff", 0, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	got, err := d.Command(context.Background(), "battery?")
	if err != nil || got != "100" {
		t.Fatalf("battery? queued behind takeoff: %q, %v", got, err)
	}
	if r := <-done; r != "ok" {
		t.Fatalf("takeoff got %q", r)
	}
	log := sim.Commands()
	if b, _ := sim.WaitFor("battery?", 0, 0); b.At.Sub(log[1].At) < 150*time.Millisecond {
		t.Errorf("battery? sent %v after takeoff: not serialised", b.At.Sub(log[1].At))
	}
}

func TestStateAndLink(t *testing.T) {
	checkGoroutines(t)
	sim, d := startSim(t, tellosim.Options{Battery: 77}, Options{LinkTimeout: 150 * time.Millisecond})
	sub, cancel := d.Subscribe()
	defer cancel()
	select {
	case s := <-sub:
		if s.Battery != 77 || !s.Has(FieldBattery) || s.Received.IsZero() {
			t.Fatalf("state %+v", s)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no telemetry within 2 s")
	}
	if !d.Linked() {
		t.Fatal("not linked while telemetry flows")
	}
	if _, err := d.Command(context.Background(), "takeoff"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "height above 50 cm", func() bool { return d.State().Height > 50 })
	sim.PauseState(true)
	waitUntil(t, "link lost", func() bool { return !d.Linked() })
	if age := d.State().Age; age < 150*time.Millisecond {
		t.Errorf("link lost with state %v old", age)
	}
	sim.PauseState(false)
	waitUntil(t, "link back", d.Linked)
	if d.BadStates() != 0 {
		t.Errorf("bad states: %d", d.BadStates())
	}
}

func TestVideoArrivesInOrder(t *testing.T) {
	checkGoroutines(t)
	video, err := os.ReadFile(filepath.Join("..", "..", "capture", "testdata", "testsrc-320x240.h264"))
	if err != nil {
		t.Skipf("test clip missing: %v", err)
	}
	_, d := startSim(t, tellosim.Options{Video: video, FPS: 200}, Options{})
	if _, err := d.Command(context.Background(), "streamon"); err != nil {
		t.Fatal(err)
	}
	var got []byte
	timeout := time.After(10 * time.Second)
	for len(got) < len(video) {
		select {
		case p := <-d.Video():
			if len(p) > tellosim.MaxDatagram {
				t.Fatalf("datagram of %d bytes", len(p))
			}
			got = append(got, p...)
		case <-timeout:
			t.Fatalf("%d of %d bytes in 10 s", len(got), len(video))
		}
	}
	if string(got[:len(video)]) != string(video) {
		t.Fatal("video bytes differ from the file")
	}
	if st := d.VideoStats(); st.Dropped != 0 || st.Datagrams == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestVideoDropsOldestForASlowReader(t *testing.T) {
	checkGoroutines(t)
	video, err := os.ReadFile(filepath.Join("..", "..", "capture", "testdata", "testsrc-320x240.h264"))
	if err != nil {
		t.Skipf("test clip missing: %v", err)
	}
	_, d := startSim(t, tellosim.Options{Video: video, FPS: 500}, Options{VideoQueue: 4})
	if _, err := d.Command(context.Background(), "streamon"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "drops counted", func() bool { return d.VideoStats().Dropped > 10 })
	if n := len(d.Video()); n > 4 {
		t.Fatalf("queue holds %d datagrams, want at most 4", n)
	}
	st := d.VideoStats()
	if st.Datagrams < st.Dropped {
		t.Fatalf("stats %+v", st)
	}
}

func TestDialWithoutADrone(t *testing.T) {
	checkGoroutines(t)
	silent, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	_, err = Dial(context.Background(), Options{Addr: silent.LocalAddr().String(), ListenPacket: loopback,
		CommandTimeout: 30 * time.Millisecond, Tries: 2})
	if !errors.Is(err, ErrNoReply) {
		t.Fatalf("Dial to a silent address: %v, want ErrNoReply", err)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	checkGoroutines(t)
	sim, d := startSim(t, tellosim.Options{TakeoffTime: time.Hour}, Options{MotionTimeout: time.Hour})
	sub, _ := d.Subscribe()
	done := make(chan error, 1)
	go func() { _, err := d.Command(context.Background(), "takeoff"); done <- err }()
	if _, err := sim.WaitFor("takeoff", 0, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("command in flight at Close: %v, want ErrClosed", err)
	}
	for range sub {
	}
	for range d.Video() {
	}
	if _, err := d.Command(context.Background(), "battery?"); !errors.Is(err, ErrClosed) {
		t.Errorf("Command after Close: %v", err)
	}
	if err := d.RC(0, 0, 0, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("RC after Close: %v", err)
	}
	if err := d.Emergency(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Emergency after Close: %v", err)
	}
	d.Close() // twice is fine
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
