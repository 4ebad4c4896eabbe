package tellosim

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// testVideo reads the repository's test clip: 60 frames of 320x240 at
// 30 fps, two of them IDR.
func testVideo(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "capture", "testdata", "testsrc-320x240.h264"))
	if err != nil {
		t.Skipf("test clip missing: %v", err)
	}
	return b
}

func TestSplitAccessUnitsFindsEveryFrame(t *testing.T) {
	aus := splitAccessUnits(testVideo(t))
	if len(aus) != 60 {
		t.Fatalf("access units: %d, want 60 (ffprobe counts 60 frames)", len(aus))
	}
	idr := 0
	for i, au := range aus {
		if !(len(au) > 4 && (string(au[:4]) == "\x00\x00\x00\x01" || string(au[:3]) == "\x00\x00\x01")) {
			t.Fatalf("unit %d does not start with a start code: % x", i, au[:min(8, len(au))])
		}
		for _, s := range nalStarts(au) {
			if au[s.payload]&0x1f == 5 {
				idr++
				break
			}
		}
	}
	if idr != 2 {
		t.Errorf("units with an IDR slice: %d, want 2", idr)
	}
	if got := splitAccessUnits([]byte("no start code here")); len(got) != 0 {
		t.Errorf("garbage gave %d units", len(got))
	}
}

func TestChunksStayUnderTheDatagramLimit(t *testing.T) {
	au := make([]byte, 3*MaxDatagram+7)
	c := chunks(au)
	if len(c) != 4 || len(c[3]) != 7 {
		t.Fatalf("chunks: %d, last %d bytes; want 4, 7", len(c), len(c[len(c)-1]))
	}
	total := 0
	for _, x := range c {
		if len(x) > MaxDatagram {
			t.Fatalf("chunk of %d bytes", len(x))
		}
		total += len(x)
	}
	if total != len(au) {
		t.Fatalf("chunks hold %d bytes, want %d", total, len(au))
	}
}

// client is a bare UDP socket standing in for the Tello client.
type client struct {
	t    *testing.T
	pc   net.PacketConn
	sim  net.Addr
	buf  []byte
	wait time.Duration
}

func newClient(t *testing.T, s *Sim) *client {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return &client{t: t, pc: pc, sim: s.Addr(), buf: make([]byte, 2048), wait: 2 * time.Second}
}

// do sends cmd and returns the reply, or "" if none came within c.wait.
func (c *client) do(cmd string) string {
	c.t.Helper()
	if _, err := c.pc.WriteTo([]byte(cmd), c.sim); err != nil {
		c.t.Fatal(err)
	}
	c.pc.SetReadDeadline(time.Now().Add(c.wait))
	n, _, err := c.pc.ReadFrom(c.buf)
	if err != nil {
		return ""
	}
	return string(c.buf[:n])
}

// start starts a simulator for the test. Telemetry and video go to a
// socket nobody reads unless the test says otherwise, never to the real
// ports 8890 and 11111.
func start(t *testing.T, opts Options) *Sim {
	t.Helper()
	before := runtime.NumGoroutine()
	if opts.StateTo == "" || opts.VideoTo == "" {
		sink, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sink.Close() })
		if opts.StateTo == "" {
			opts.StateTo = sink.LocalAddr().String()
		}
		if opts.VideoTo == "" {
			opts.VideoTo = sink.LocalAddr().String()
		}
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				t.Errorf("goroutines: %d after Close, %d before Start", runtime.NumGoroutine(), before)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return s
}

func TestSimAnswersLikeTheDrone(t *testing.T) {
	s := start(t, Options{Battery: 57, SNR: 77})
	c := newClient(t, s)
	steps := []struct{ cmd, want string }{
		{"takeoff", "error Not joystick"}, // not in SDK mode yet
		{"command", "ok"},
		{"battery?", "57"},
		{"wifi?", "77"},
		{"land", "error Not joystick"}, // on the ground
		{"forward 50", "error Not joystick"},
		{"takeoff", "ok"},
		{"takeoff", "error"},
		{"forward 5", "error"}, // below 20 cm
		{"forward 50", "ok"},
		{"cw 90", "ok"},
		{"streamon", "ok"},
		{"land", "ok"},
		{"nonsense", "unknown command: nonsense"},
	}
	for _, st := range steps {
		if got := c.do(st.cmd); got != st.want {
			t.Errorf("%s: reply %q, want %q", st.cmd, got, st.want)
		}
	}
	c.wait = 150 * time.Millisecond
	if got := c.do("rc 10 0 0 0"); got != "" {
		t.Errorf("rc got a reply %q; the drone gives none", got)
	}
	log := s.Commands()
	if len(log) != len(steps)+1 || log[0].Cmd != "takeoff" || log[len(log)-1].Cmd != "rc 10 0 0 0" {
		t.Fatalf("log: %+v", log)
	}
	for i := 1; i < len(log); i++ {
		if log[i].Index != i || log[i].At.Before(log[i-1].At) {
			t.Fatalf("log out of order at %d: %+v", i, log[i-1:i+1])
		}
	}
}

func TestSimTakeoffRefusedOnLowBattery(t *testing.T) {
	s := start(t, Options{Battery: 8})
	c := newClient(t, s)
	c.do("command")
	if got := c.do("takeoff"); got != "error Motor stop" {
		t.Fatalf("takeoff at 8%%: %q", got)
	}
	if s.Flying() {
		t.Fatal("flying after a refused takeoff")
	}
}

func TestSimDropsReplies(t *testing.T) {
	s := start(t, Options{DropReplies: 2})
	c := newClient(t, s)
	c.wait = 200 * time.Millisecond
	for i, want := range []string{"", "", "ok"} {
		if got := c.do("command"); got != want {
			t.Fatalf("try %d: %q, want %q", i, got, want)
		}
	}
	s.DropReplies(1)
	if got := c.do("takeoff"); got != "" || !s.Flying() {
		t.Fatalf("dropped takeoff: reply %q, flying %v; the command must still act", got, s.Flying())
	}
}

func TestSimSendsStateAndClimbs(t *testing.T) {
	st, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := start(t, Options{StateInterval: 20 * time.Millisecond, Battery: 90, Drain: 50})
	s.SetStateTo(st.LocalAddr())
	c := newClient(t, s)
	c.do("command")
	c.do("takeoff")
	buf := make([]byte, 512)
	st.SetReadDeadline(time.Now().Add(5 * time.Second))
	var last string
	for i := 0; i < 30; i++ {
		n, _, err := st.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		last = string(buf[:n])
	}
	if !strings.HasPrefix(last, "pitch:") || !strings.HasSuffix(last, ";\r\n") {
		t.Fatalf("state %q", last)
	}
	if s.Height() < 50 {
		t.Errorf("height %d cm after 0.6 s of climbing", s.Height())
	}
	if strings.Contains(last, ";bat:90;") {
		t.Errorf("battery did not drain at 50%%/s: %q", last)
	}
}

func TestSimLandsByItself(t *testing.T) {
	s := start(t, Options{AutoLand: 200 * time.Millisecond, StateInterval: 10 * time.Millisecond})
	c := newClient(t, s)
	c.do("command")
	c.do("takeoff")
	deadline := time.Now().Add(3 * time.Second)
	for s.Flying() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s.Flying() || s.AutoLands() != 1 {
		t.Fatalf("flying %v, auto-landings %d after 200 ms without a command", s.Flying(), s.AutoLands())
	}
}

func TestSimStreamsVideoInDatagrams(t *testing.T) {
	video := testVideo(t)
	v, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	s := start(t, Options{Video: video, VideoTo: v.LocalAddr().String(), FPS: 300})
	c := newClient(t, s)
	c.do("command")
	c.do("streamon")
	var got []byte
	buf := make([]byte, 4096)
	v.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(got) < len(video) {
		n, _, err := v.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d of %d bytes: %v", len(got), len(video), err)
		}
		if n > MaxDatagram {
			t.Fatalf("datagram of %d bytes", n)
		}
		got = append(got, buf[:n]...)
	}
	if string(got[:len(video)]) != string(video) {
		t.Fatal("the first loop of the stream differs from the file")
	}
}

func TestWaitFor(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s)
	c.wait = 50 * time.Millisecond
	go func() {
		time.Sleep(20 * time.Millisecond)
		c.pc.WriteTo([]byte("rc 0 0 0 0"), s.Addr())
	}()
	r, err := s.WaitFor("rc 0 0 0 0", 0, 2*time.Second)
	if err != nil || r.Index != 0 {
		t.Fatalf("WaitFor: %+v, %v", r, err)
	}
	if _, err := s.WaitFor("rc 0 0 0 0", 1, 30*time.Millisecond); err == nil {
		t.Fatal("WaitFor from 1 found the datagram at 0")
	}
}
