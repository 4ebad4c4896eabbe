package pkgtest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInitScript runs the image's init script, buildroot/package/camd/
// S90camd, under BusyBox (Debian package busybox-static or busybox) the
// way BusyBox init's rcS does, with camd.toml on a stand-in boot
// partition: camd comes up and serves /healthz; after kill -9 the
// supervisor restarts it after 1 s, and after a second quick death after
// 2 s; stop ends camd gracefully and the supervisor with it. Then a
// camd.toml with a typo: the log names the problem and camd runs with the
// fallback config. As root, camd runs as user nobody, as it runs as user
// camd on the image.
func TestInitScript(t *testing.T) {
	needTools(t, [2]string{"busybox", "busybox-static"})
	root := repoRoot(t)
	dir := t.TempDir()
	user, uid := "", os.Getuid()
	if uid == 0 {
		user, uid = "nobody", 65534
		for _, d := range []string{filepath.Dir(dir), dir} { // so that nobody reaches camd
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	busybox := mustLookPath(t, "busybox")
	for _, applet := range []string{"start-stop-daemon", "logger", "mkfifo", "readlink"} {
		if err := os.Symlink(busybox, filepath.Join(bin, applet)); err != nil {
			t.Fatal(err)
		}
	}
	camd := filepath.Join(dir, "camd")
	env := append(os.Environ(), "CGO_ENABLED=0")
	mustRun(t, 5*time.Minute, root, env, goCommand(), "build", "-o", camd, "./cmd/camd")

	port := freePort(t)
	boot := filepath.Join(dir, "boot")
	if err := os.Mkdir(boot, 0o755); err != nil {
		t.Fatal(err)
	}
	// The H.264 file source with passthrough: no encoder needed.
	writeFile(t, filepath.Join(boot, "camd.toml"), fmt.Sprintf(`listen = "127.0.0.1:%d"
[source]
kind = "file"
path = %q
fps = 10
[mdns]
enabled = false
[webrtc]
udp_port = 0
`, port, filepath.Join(root, "capture", "testdata", "testsrc-320x240.h264")))
	logFile := filepath.Join(dir, "camd.log")
	runDir := filepath.Join(dir, "run")
	fallback := filepath.Join(dir, "fallback.toml")
	defaults := filepath.Join(dir, "defaults")
	writeFile(t, defaults, fmt.Sprintf(`PIDFILE=%q
CAMD_BIN=%q
CAMD_USER=%q
CAMD_BOOT_DIR=%q
CAMD_FALLBACK_CONFIG=%q
CAMD_RUN_DIR=%q
CAMD_LOG=%q
CAMD_BACKOFF_MAX=4
CAMD_STOP_TIMEOUT=10
`, filepath.Join(dir, "supervisor.pid"), camd, user, boot, fallback, runDir, logFile))

	script := filepath.Join(root, "buildroot", "package", "camd", "S90camd")
	var scriptEnv []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAMD_") && !strings.HasPrefix(kv, "PATH=") {
			scriptEnv = append(scriptEnv, kv)
		}
	}
	scriptEnv = append(scriptEnv, "PATH="+bin+":/usr/sbin:/usr/bin:/sbin:/bin", "CAMD_DEFAULTS="+defaults)
	initd := func(action string) string {
		t.Helper()
		out, err := run(t, time.Minute, dir, scriptEnv, busybox, "sh", script, action)
		if err != nil {
			t.Fatalf("S90camd %s: %v", action, err)
		}
		return out
	}
	camdPid := func() int { return readPid(filepath.Join(runDir, "camd.pid")) }
	t.Cleanup(func() {
		_, _ = run(t, time.Minute, dir, scriptEnv, busybox, "sh", script, "stop")
		for _, p := range []int{camdPid(), readPid(filepath.Join(dir, "supervisor.pid"))} {
			if p > 0 {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			t.Logf("camd's log:\n%s", b)
		}
	})

	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	if out := initd("start"); !strings.Contains(out, "OK") {
		t.Fatalf("S90camd start printed %q", out)
	}
	waitHealthy(t, url, 15*time.Second)
	first := camdPid()
	// Auth is on: camd made its token in the state directory the script
	// gave it (tmpfs on the image), readable by camd's user alone, and
	// logged the access link once.
	tokenFile := filepath.Join(runDir, "state", "token")
	if info, err := os.Stat(tokenFile); err != nil {
		t.Errorf("no token in the state directory: %v", err)
	} else if st, ok := info.Sys().(*syscall.Stat_t); info.Mode().Perm() != 0o600 || !ok || int(st.Uid) != uid {
		t.Errorf("token file mode %v owner %v, want 0600 owned by uid %d", info.Mode().Perm(), info.Sys(), uid)
	}
	if log := readText(logFile); strings.Count(log, "#token=") != 1 {
		t.Errorf("the log has %d access links, want 1:\n%s", strings.Count(log, "#token="), log)
	}
	if got, _ := processIDs(first); got != uid {
		t.Errorf("camd runs as uid %d, want %d (CAMD_USER %q)", got, uid, user)
	}
	// The user's own supplementary groups (video, dialout on the image),
	// not the supervisor's.
	if _, groups := processIDs(first); user == "nobody" && groups != "65534" {
		t.Errorf("camd's supplementary groups are %q, want nobody's (65534)", groups)
	}

	restart := func(old int, wantDelay string) (int, time.Duration) {
		t.Helper()
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatalf("kill -9 camd (pid %d): %v", old, err)
		}
		killed := time.Now()
		deadline := killed.Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if p := camdPid(); p > 0 && p != old && processAlive(p) && healthy(url) {
				if log := readText(logFile); !strings.Contains(log, "restarting in "+wantDelay) {
					t.Errorf("the log does not say 'restarting in %s':\n%s", wantDelay, log)
				}
				return p, time.Since(killed)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("camd was not restarted within 15 s after kill -9")
		return 0, 0
	}
	second, took1 := restart(first, "1s")
	_, took2 := restart(second, "2s")
	t.Logf("restarted after kill -9 in %v, after a second kill in %v", took1.Round(time.Millisecond), took2.Round(time.Millisecond))
	if took1 < time.Second || took2 < 2*time.Second {
		t.Errorf("the supervisor did not back off: restarts after %v and %v, want >= 1 s and >= 2 s", took1, took2)
	}

	last := camdPid()
	supervisor := readPid(filepath.Join(dir, "supervisor.pid"))
	if out := initd("stop"); !strings.Contains(out, "OK") {
		t.Fatalf("S90camd stop printed %q", out)
	}
	if processAlive(last) || processAlive(supervisor) {
		t.Errorf("after stop: camd alive %v, supervisor alive %v", processAlive(last), processAlive(supervisor))
	}
	if healthy(url) {
		t.Error("camd still answers after stop")
	}
	log := readText(logFile)
	for _, want := range []string{"-config " + filepath.Join(boot, "camd.toml"), "shutting down", "S90camd: stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}

	// A typo made on a PC: camd check-config rejects the file, S90camd
	// logs why and runs camd with the fallback (the image's own config).
	config := filepath.Join(boot, "camd.toml")
	good := readText(config)
	writeFile(t, fallback, good)
	writeFile(t, config, "lisen = \":1\"\n"+good)
	if err := os.Truncate(logFile, 0); err != nil {
		t.Fatal(err)
	}
	if out := initd("start"); !strings.Contains(out, "OK") {
		t.Fatalf("S90camd start printed %q", out)
	}
	waitHealthy(t, url, 15*time.Second)
	log = readText(logFile)
	for _, want := range []string{
		"S90camd: ERROR: " + config + " is not valid; camd starts with " + fallback + " instead",
		"S90camd:   " + config + ":1: lisen: unknown key",
		"S90camd: starting " + camd + " -config " + fallback,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("with a typo in camd.toml, the log lacks %q:\n%s", want, log)
		}
	}
	if out := initd("stop"); !strings.Contains(out, "OK") {
		t.Fatalf("S90camd stop printed %q", out)
	}
}

func mustLookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return p
}

// processAlive reports whether pid runs and is not a zombie.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// processIDs returns the real uid of pid (-1 if unknown) and its
// supplementary group ids, space-separated.
func processIDs(pid int) (uid int, groups string) {
	uid = -1
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return uid, ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 1 && f[0] == "Uid:":
			uid, _ = strconv.Atoi(f[1])
		case len(f) > 0 && f[0] == "Groups:":
			groups = strings.Join(f[1:], " ")
		}
	}
	return uid, groups
}

func healthy(url string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func waitHealthy(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if healthy(url) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within %v", url, timeout)
}
