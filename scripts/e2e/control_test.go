package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camd-project/camd/hw/tello/tellosim"
)

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// ptyPair starts socat with two linked pseudo-terminals: camd opens one as
// its serial port, the test plays the device on the other.
func ptyPair(t *testing.T) (camdEnd string, device *os.File) {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI needs socat")
		}
		t.Skip("no socat")
	}
	dir := t.TempDir()
	camdEnd, devEnd := filepath.Join(dir, "camd"), filepath.Join(dir, "device")
	cmd := exec.Command("socat", "pty,raw,echo=0,link="+camdEnd, "pty,raw,echo=0,link="+devEnd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(devEnd); err == nil {
			if _, err := os.Stat(camdEnd); err == nil {
				break
			}
		}
		if i > 100 {
			t.Fatal("socat made no ptys")
		}
		time.Sleep(20 * time.Millisecond)
	}
	f, err := os.OpenFile(devEnd, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return camdEnd, f
}

// lockedBuffer collects what the device end reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestSteerFromThePage: camd flies a simulated Tello (its video is what the
// page shows) and bridges a serial port, and the page steers both: the
// lease, keys that reach the drone as rc values, a failsafe hover within
// 300 ms of the page closing and a landing after the controller timeout,
// serial bytes both ways and a named command button.
func TestSteerFromThePage(t *testing.T) {
	needBrowser(t)
	video, err := os.ReadFile("../../capture/testdata/testsrc-320x240.h264")
	if err != nil {
		t.Fatal(err)
	}
	statePort, videoPort := freeUDPPort(t), freeUDPPort(t)
	sim, err := tellosim.Start(tellosim.Options{
		StateTo: fmt.Sprintf("127.0.0.1:%d", statePort),
		VideoTo: fmt.Sprintf("127.0.0.1:%d", videoPort),
		Video:   video,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	serialPath, device := ptyPair(t)
	var fromCamd lockedBuffer
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := device.Read(buf)
			if err != nil {
				return
			}
			fromCamd.mu.Lock()
			fromCamd.b.Write(buf[:n])
			fromCamd.mu.Unlock()
		}
	}()

	c := startCamd(t, "-source", "tello",
		"-set", "drone.enabled=true",
		"-set", "drone.address="+sim.Addr().String(),
		"-set", fmt.Sprintf("drone.state_listen=127.0.0.1:%d", statePort),
		"-set", fmt.Sprintf("drone.video_listen=127.0.0.1:%d", videoPort),
		"-set", "drone.controller_timeout=2s",
		"-set", "serial.port="+serialPath,
		"-set", `serial.commands=pan_left=P-10\n`)
	b := launch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p := openPage(t, ctx, b, c.PageURL()) // plays the drone's video
	wait := func(expr string) {
		t.Helper()
		if err := p.WaitFor(ctx, expr, 20*time.Millisecond); err != nil {
			var txt, st string
			_ = p.Eval(context.Background(), `document.getElementById("controls").innerText`, &txt)
			_ = p.Eval(context.Background(), `JSON.stringify({control: CamdControl.state, sctp: camd.pc && camd.pc.sctp && camd.pc.sctp.state})`, &st)
			t.Fatalf("waiting for %s: %v\ncontrols:\n%s\nstate: %s\nconsole: %q", expr, err, txt, st, p.Console())
		}
	}
	click := func(label string) {
		t.Helper()
		var ok bool
		if err := p.Eval(ctx, fmt.Sprintf(`(() => { const b = [...document.querySelectorAll("#controls button")].find((b) => b.textContent === %q);
			if (!b || b.disabled) return false; b.click(); return true; })()`, label), &ok); err != nil || !ok {
			t.Fatalf("no enabled button %q (%v)", label, err)
		}
	}
	wait(`CamdControl.state && CamdControl.state.hardware && !document.getElementById("controls").hidden`)
	wait(`document.getElementById("controls").innerText.includes("connected")`) // the serial port

	// The lease, then take off (the page asks for confirmation).
	click("Take control")
	wait(`CamdControl.state.you`)
	if err := p.Eval(ctx, `window.confirm = () => true`, nil); err != nil {
		t.Fatal(err)
	}
	click("Take off")
	if _, err := sim.WaitFor("takeoff", 0, 5*time.Second); err != nil {
		t.Fatalf("the drone got no takeoff: %v", err)
	}
	wait(`document.getElementById("controls").innerText.includes("flying")`)

	// Keys: W (forward) and → (turn right) at the page's key speed.
	from := len(sim.Commands())
	if err := p.Eval(ctx, `["KeyW", "ArrowRight"].forEach((code) => dispatchEvent(new KeyboardEvent("keydown", { code })))`, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.WaitFor("rc 0 50 0 50", from, 3*time.Second); err != nil {
		t.Fatalf("keys did not reach the drone as rc 0 50 0 50: %v; got %v", err, lastCommands(sim, 5))
	}

	// Serial: a named command button, the terminal, and bytes back.
	click("pan left")
	waitFor(t, "P-10 at the device", func() bool { return strings.Contains(fromCamd.String(), "P-10\n") })
	if err := p.Eval(ctx, `(() => { const i = document.querySelector("#controls form input"); i.value = "status?"; i.form.requestSubmit(); })()`, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "terminal text at the device", func() bool { return strings.Contains(fromCamd.String(), "status?") })
	if _, err := device.Write([]byte("pos -10\n")); err != nil {
		t.Fatal(err)
	}
	wait(`document.getElementById("controls").innerText.includes("pos -10")`)

	// The page goes away with the keys still down: hover within 300 ms,
	// land after the controller timeout (2 s here).
	from = len(sim.Commands())
	closed := time.Now()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	hover, err := sim.WaitFor("rc 0 0 0 0", from, 3*time.Second)
	if err != nil {
		t.Fatalf("no hover after the page closed: %v", err)
	}
	if d := hover.At.Sub(closed); d > 300*time.Millisecond {
		t.Fatalf("hover came %v after the page closed; want ≤ 300 ms", d)
	}
	land, err := sim.WaitFor("land", from, 8*time.Second)
	if err != nil {
		t.Fatalf("no landing after the controller went: %v; last %v", err, lastCommands(sim, 5))
	}
	if d := land.At.Sub(closed); d < 1500*time.Millisecond || d > 4*time.Second {
		t.Fatalf("landed %v after the page closed; want about the 2 s controller timeout", d)
	}
	t.Logf("page closed: hover after %v, land after %v", hover.At.Sub(closed).Round(time.Millisecond), land.At.Sub(closed).Round(10*time.Millisecond))

	// camd stopping with the drone in the air lands it before it exits.
	p2 := openPage(t, ctx, b, c.PageURL())
	p = p2
	if s := readStats(t, ctx, p2); s.FirstFrameMs != nil {
		t.Logf("drone video: first frame %.0f ms after navigation (the next IDR from the drone)", *s.FirstFrameMs)
	}
	wait(`CamdControl.state && CamdControl.state.hardware && !document.getElementById("controls").hidden`)
	wait(`!CamdControl.state.holder`) // the lease came back when the first page went
	click("Take control")
	wait(`CamdControl.state.you`)
	if err := p2.Eval(ctx, `window.confirm = () => true`, nil); err != nil {
		t.Fatal(err)
	}
	from = len(sim.Commands())
	click("Take off")
	if _, err := sim.WaitFor("takeoff", from, 5*time.Second); err != nil {
		t.Fatalf("no second takeoff: %v", err)
	}
	wait(`document.getElementById("controls").innerText.includes("flying")`)
	from = len(sim.Commands())
	if err := c.Stop(20 * time.Second); err != nil {
		t.Fatalf("camd stop while flying: %v", err)
	}
	if _, err := sim.WaitFor("land", from, time.Second); err != nil {
		t.Fatalf("camd exited without landing the drone: %v; last %v", err, lastCommands(sim, 5))
	}
}

func lastCommands(sim *tellosim.Sim, n int) []string {
	cmds := sim.Commands()
	var out []string
	for _, c := range cmds[max(0, len(cmds)-n):] {
		out = append(out, c.Cmd)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
