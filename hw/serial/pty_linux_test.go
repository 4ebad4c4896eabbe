package serial

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// needSocat skips the test when socat is missing, except in CI where that
// is a broken setup.
func needSocat(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("socat is required in CI (apt-get install socat): %v", err)
		}
		t.Skip("socat not installed (apt-get install socat)")
	}
}

// ptyPair is two linked pseudo-terminals made by socat: bytes written to
// one come out of the other, like a cable between the Bridge (Port, at A)
// and a device (at B).
type ptyPair struct {
	t    *testing.T
	A, B string // the link paths
	cmd  *exec.Cmd
	log  bytes.Buffer
}

func newPtyPair(t *testing.T) *ptyPair {
	t.Helper()
	needSocat(t)
	dir := t.TempDir()
	p := &ptyPair{t: t, A: filepath.Join(dir, "camd"), B: filepath.Join(dir, "device")}
	p.start()
	t.Cleanup(p.stop)
	return p
}

// start runs socat and waits for both links.
func (p *ptyPair) start() {
	p.t.Helper()
	p.cmd = exec.Command("socat", "-d", "-d",
		"pty,raw,echo=0,link="+p.A, "pty,raw,echo=0,link="+p.B)
	p.cmd.Stderr = &p.log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("socat: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, ea := os.Stat(p.A)
		_, eb := os.Stat(p.B)
		if ea == nil && eb == nil {
			return
		}
		if time.Now().After(deadline) {
			p.stop()
			p.t.Fatalf("socat made no links within 5 s: %s", p.log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop ends socat (SIGTERM, so it removes its links): both ports vanish,
// as when a USB adapter is pulled.
func (p *ptyPair) stop() { p.stopWith(syscall.SIGTERM) }

// stopWith ends socat with sig; SIGKILL leaves the links dangling.
func (p *ptyPair) stopWith(sig os.Signal) {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	p.cmd.Wait()
	p.cmd = nil
}

// device opens end B in raw mode, as the device's side of the cable.
func (p *ptyPair) device() *os.File {
	p.t.Helper()
	f, err := os.OpenFile(p.B, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { f.Close() })
	rc, err := f.SyscallConn()
	if err != nil {
		p.t.Fatal(err)
	}
	var terr error
	rc.Control(func(fd uintptr) {
		tio, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			terr = err
			return
		}
		// cfmakeraw(3)
		tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		tio.Oflag &^= unix.OPOST
		tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		tio.Cflag &^= unix.CSIZE | unix.PARENB
		tio.Cflag |= unix.CS8
		terr = unix.IoctlSetTermios(int(fd), unix.TCSETS, tio)
	})
	if terr != nil {
		p.t.Fatalf("raw mode on %s: %v", p.B, terr)
	}
	return f
}

// readN reads n bytes from f within timeout.
func readN(t *testing.T, f *os.File, n int, timeout time.Duration) []byte {
	t.Helper()
	f.SetReadDeadline(time.Now().Add(timeout))
	b := make([]byte, n)
	if _, err := io.ReadFull(f, b); err != nil {
		t.Fatalf("device read %d bytes: %v", n, err)
	}
	return b
}
