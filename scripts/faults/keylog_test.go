package faults

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream/whepclient"
)

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestKeyLogDecryptsDTLS: with debug.keylog_file set, camd warns at start
// and writes each session's DTLS master secret as an NSS key log line. A
// packet capture of a WHEP session on loopback shows that the line's
// client random is the one in the ClientHello on the wire, and Debian's
// tshark decrypts the handshake with the file (the Finished messages,
// encrypted on the wire, become readable) and not without it.
func TestKeyLogDecryptsDTLS(t *testing.T) {
	harness.NeedRoot(t) // packet capture
	for _, tool := range []string{"tcpdump", "tshark"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("CI needs %s (scripts/setup installs it)", tool)
			}
			t.Skipf("needs %s", tool)
		}
	}
	dir := t.TempDir()
	keys, pcap := filepath.Join(dir, "keys.log"), filepath.Join(dir, "whep.pcap")
	port := freeUDPPort(t)

	dump := exec.Command("tcpdump", "-i", "lo", "-U", "-n", "-w", pcap, "udp", "port", strconv.Itoa(port))
	var dumpLog harness.SyncBuffer
	dump.Stderr = &dumpLog
	if err := dump.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = dump.Process.Kill(); _ = dump.Wait() }()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(dumpLog.String(), "listening on"); {
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump did not start: %s", dumpLog.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	c := harness.StartTest(t, camdBin, append(small, "-set", "debug.keylog_file="+keys, "-set", "webrtc.udp_port="+strconv.Itoa(port))...)
	if !strings.Contains(c.Logs(), "level=WARN") || !strings.Contains(c.Logs(), "DEBUG KEY LOG IS ON") {
		t.Fatalf("no loud warning at start:\n%s", c.Logs())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := whepclient.Dial(ctx, c.URL+"/whep", whepclient.Options{IncludeLoopback: true, Token: harness.TestToken})
	if err != nil {
		t.Fatal(err)
	}
	for range 30 {
		select {
		case <-v.Units():
		case <-ctx.Done():
			t.Fatal("no video")
		}
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	_ = dump.Process.Signal(syscall.SIGINT)
	_ = dump.Wait()

	b, err := os.ReadFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(keys); fi.Mode().Perm() != 0o600 {
		t.Errorf("key log mode %v, want 0600", fi.Mode().Perm())
	}
	line := regexp.MustCompile(`(?m)^CLIENT_RANDOM ([0-9a-f]{64}) ([0-9a-f]{96})$`)
	m := line.FindAllStringSubmatch(string(b), -1)
	if len(m) != 1 || strings.Count(string(b), "\n") != 1 {
		t.Fatalf("key log: want one CLIENT_RANDOM line (one session), got:\n%s", b)
	}
	random := m[0][1]

	tshark := func(args ...string) string {
		cmd := exec.Command("tshark", append([]string{"-r", pcap, "-d", "udp.port==" + strconv.Itoa(port) + ",dtls"}, args...)...)
		out, err := cmd.Output() // stdout only: tshark warns about root on stderr
		if err != nil {
			t.Fatalf("tshark %v: %v", args, err)
		}
		return string(out)
	}
	// The ClientHello goes twice (the second with the server's cookie),
	// with the same random.
	hellos := strings.Fields(strings.ReplaceAll(tshark("-Y", "dtls.handshake.type == 1", "-T", "fields", "-e", "dtls.handshake.random"), ":", ""))
	if len(hellos) == 0 {
		t.Fatal("no ClientHello in the capture")
	}
	for _, h := range hellos {
		if h != random {
			t.Fatalf("ClientHello random on the wire %q, key log %q", h, random)
		}
	}
	finished := func(extra ...string) int {
		out := tshark(append(extra, "-Y", "dtls.handshake.type == 20", "-T", "fields", "-e", "frame.number")...)
		return len(strings.Fields(out))
	}
	with, without := finished("-o", "tls.keylog_file:"+keys), finished()
	t.Logf("key log: CLIENT_RANDOM %s…; the ClientHello on the wire has it; tshark sees %d Finished messages with the key log, %d without", random[:16], with, without)
	if with != 2 || without != 0 {
		t.Fatalf("Finished messages: %d decrypted with the key log, %d without; want 2 and 0", with, without)
	}
}
