// Command bootcheck plays BusyBox init in the VM of the vmtest case
// board-init, whose root file system carries the camd image's board
// overlay, its init scripts and camd with the software encoder, and whose
// disk is a FAT boot partition labelled as the image labels it. It makes
// the root read-only (the image never remounts it read-write), runs
// /etc/init.d/rcS as init's sysinit action does, and checks that camd came
// up from camd.toml on the boot partition: /healthz, a WHEP viewer gets
// H.264 from vivid starting with an IDR at the configured size, kill -9
// brings a new camd, rcK stops everything cleanly, and a camd.toml with a
// typo is reported in the log and replaced by the image's own settings.
// One PASS or FAIL line per step; exit 1 on any failure.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/scripts/vmtest/vmcheck"
	"github.com/camd-project/camd/stream/whepclient"
)

// The image's paths (buildroot/package/camd/S90camd, the board overlay).
const (
	camdPidFile       = "/run/camd/camd.pid"
	supervisorPidFile = "/var/run/camd.pid"
	messages          = "/var/log/messages"
	stateToken        = "/run/camd/state/token" // made by camd when camd.toml sets none
	initd             = "/etc/init.d/"
)

// initEnv is the environment BusyBox init gives the scripts it runs.
var initEnv = []string{"HOME=/", "PATH=/sbin:/usr/sbin:/bin:/usr/bin", "SHELL=/bin/sh", "USER=root", "TERM=linux"}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "where camd.toml on the boot partition makes camd listen")
	size := flag.String("size", "320x180", "the frame size camd.toml asks for")
	label := flag.String("label", "CAMD-BOOT", "the boot partition's label")
	badDir := flag.String("bad-dir", "/boot/bad", "a directory on the boot partition holding a camd.toml with a typo")
	units := flag.Int("units", 30, "access units each viewer must receive")
	token := flag.String("token", "", "bearer token for WHEP, when camd.toml turns auth on")
	timeout := flag.Duration("timeout", 400*time.Second, "limit for the whole check")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c := &check{base: "http://" + *listen, units: *units, token: *token, label: *label}
	if _, err := fmt.Sscanf(*size, "%dx%d", &c.width, &c.height); err != nil {
		c.Fail("args", "-size %q: %v", *size, err)
		os.Exit(1)
	}
	c.run(ctx, *badDir)
	if c.Failed {
		os.Exit(1)
	}
}

type check struct {
	base          string // camd's URL
	width, height int
	units         int
	token, label  string
	vmcheck.Report
}

// run goes through the steps; a step that leaves nothing to check stops
// the rest, but the system is always shut down and the root made
// writable again for the VM's next case.
func (c *check) run(ctx context.Context, badDir string) {
	if err := run(ctx, 10*time.Second, nil, "mount", "-o", "remount,ro", "/"); err != nil {
		c.Fail("root-ro", "%v", err)
		return
	}
	defer func() {
		if err := run(context.Background(), 10*time.Second, nil, "mount", "-o", "remount,rw", "/"); err != nil {
			c.Fail("root-rw", "making / writable again for the next case: %v", err)
		}
	}()
	err := os.WriteFile("/etc/bootcheck", nil, 0o644)
	if !errors.Is(err, syscall.EROFS) {
		c.Fail("root-ro", "writing /etc/bootcheck: %v, want EROFS", err)
		return
	}
	c.Pass("root-ro", "/ is read-only (%v)", err)
	if err := udevVideo(); err != nil {
		c.Fail("udev", "%v", err)
		return
	}

	up := true
	shutdown := func() {
		if up {
			c.shutdown(ctx)
			up = false
		}
	}
	defer shutdown()
	if !c.boot(ctx) || !c.serving(ctx, "", "/boot/camd.toml") {
		return
	}
	c.killed(ctx)
	shutdown()
	c.badConfig(ctx, badDir)
}

// udevVideo does what eudev's rules do on the image (the VM has no udev):
// /dev/video* belong to group video, mode 0660.
func udevVideo() error {
	gid, err := lookupID("/etc/group", "video", 2)
	if err != nil {
		return err
	}
	nodes, _ := filepath.Glob("/dev/video*")
	for _, n := range nodes {
		if err := os.Chown(n, 0, gid); err != nil {
			return err
		}
		if err := os.Chmod(n, 0o660); err != nil {
			return err
		}
	}
	return nil
}

// boot runs rcS and checks what the scripts before camd did: the boot
// partition mounted read-only, Wi-Fi credentials read from it.
func (c *check) boot(ctx context.Context) bool {
	start := time.Now()
	out, err := runInit(ctx, 120*time.Second, nil, initd+"rcS")
	printIndented("rcS", out)
	took := time.Since(start).Round(100 * time.Millisecond)
	if err != nil {
		c.Fail("rcS", "%v", err)
		return false
	}
	if !strings.Contains(out, "Starting camd: OK") {
		c.Fail("rcS", "no 'Starting camd: OK' after %s", took)
		return false
	}
	c.Pass("rcS", "ran S01syslogd, S05bootfs, S41wpa_supplicant, S90camd in %s", took)

	dev, _, opts, ok := mountOf("/boot")
	switch {
	case !ok:
		c.Fail("bootfs", "/boot is not mounted")
		return true
	case !strings.HasPrefix(opts, "ro,"):
		c.Fail("bootfs", "%s on /boot is mounted %s, want read-only", dev, opts)
	default:
		c.Pass("bootfs", "%s (label %s, found by S05bootfs) on /boot, vfat %s", dev, c.label, strings.SplitN(opts, ",", 2)[0])
	}
	// No Wi-Fi device in the VM: S41wpa_supplicant must still have found
	// the credentials (else it says "not configured") and carried on.
	if strings.Contains(out, "Starting Wi-Fi on wlan0: FAIL (no wlan0)") {
		c.Pass("wifi", "S41wpa_supplicant found /boot/wpa_supplicant.conf and waited for wlan0 (the VM has none); boot went on")
	} else {
		c.Fail("wifi", "S41wpa_supplicant did not take up /boot/wpa_supplicant.conf")
	}
	return true
}

// serving checks that camd answers, runs as the user camd with the given
// config, and streams; step suffixes the steps' names.
func (c *check) serving(ctx context.Context, step, config string) bool {
	start := time.Now()
	if err := c.waitHealthy(ctx, 90*time.Second); err != nil {
		c.Fail("healthz"+step, "%v", err)
		return false
	}
	c.Pass("healthz"+step, "200 after %s", time.Since(start).Round(time.Millisecond))
	pid := readPid(camdPidFile)
	uid, _ := lookupID("/etc/passwd", "camd", 2)
	gotUID, cmdline := processInfo(pid)
	cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	_, runType, _, _ := mountOf("/run")
	switch {
	case cwd != "/run/camd" || runType != "tmpfs":
		c.Fail("process"+step, "camd (pid %d) works in %q on /run of type %q, want /run/camd on tmpfs", pid, cwd, runType)
	case gotUID != uid:
		c.Fail("process"+step, "camd (pid %d) runs as uid %d, want %d (user camd)", pid, gotUID, uid)
	case !strings.Contains(cmdline, "-config "+config):
		c.Fail("process"+step, "camd runs as %q, want -config %s", cmdline, config)
	default:
		c.Pass("process"+step, "camd pid %d, user camd (uid %d), %q in /run/camd (tmpfs); supervisor pid %d", pid, uid, cmdline, readPid(supervisorPidFile))
	}
	return c.view(ctx, "whep"+step, c.width, c.height, c.units)
}

// view receives units access units over WHEP: the first an IDR with SPS
// and PPS at width x height.
func (c *check) view(ctx context.Context, step string, width, height, units int) bool {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	start := time.Now()
	cl, err := whepclient.Dial(ctx, c.base+"/whep", whepclient.Options{IncludeLoopback: true, Token: c.token})
	if err != nil {
		c.Fail(step, "whepclient.Dial: %v", err)
		return false
	}
	defer cl.Close()
	var w, h, size int
	for got := 0; got < units; got++ {
		var u whepclient.AccessUnit
		select {
		case <-ctx.Done():
			c.Fail(step, "%d of %d access units in 90 s", got, units)
			return false
		case u = <-cl.Units():
		}
		size += len(u.Data)
		if got > 0 {
			continue
		}
		if !h264.IsKeyframe(u.Data) || !h264.Contains(u.Data, h264.TypeSPS) || !h264.Contains(u.Data, h264.TypePPS) {
			c.Fail(step, "the first access unit is not an IDR with SPS and PPS (%d bytes)", len(u.Data))
			return false
		}
		for _, n := range h264.SplitNALs(u.Data) {
			if h264.TypeOf(n) == h264.TypeSPS {
				if s, err := h264.ParseSPS(n); err == nil {
					w, h = s.Width, s.Height
				}
			}
		}
		if w != width || h != height {
			c.Fail(step, "the stream is %dx%d, the config asks for %dx%d", w, h, width, height)
			return false
		}
	}
	st := cl.Stats()
	c.Pass(step, "units=%d first=IDR+SPS+PPS %dx%d bytes=%d first_unit=%s lost=%d total=%s",
		units, w, h, size, st.FirstUnit.Round(time.Millisecond), st.Lost, time.Since(start).Round(time.Millisecond))
	return true
}

// killed kills camd with SIGKILL and waits for the supervisor's new camd.
func (c *check) killed(ctx context.Context) {
	old := readPid(camdPidFile)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		c.Fail("kill9", "kill -9 %d: %v", old, err)
		return
	}
	killed := time.Now()
	for {
		if p := readPid(camdPidFile); p > 0 && p != old && alive(p) && c.healthy() {
			log := readText(messages)
			if !strings.Contains(log, "camd exited with status 137") || !strings.Contains(log, "restarting in 1s") {
				c.Fail("kill9", "new camd, but the log does not say why:\n%s", vmcheck.LastLines(log, 20))
				return
			}
			c.Pass("kill9", "camd pid %d killed; pid %d serves /healthz %s later; log: camd exited with status 137, restarting in 1s",
				old, p, time.Since(killed).Round(time.Millisecond))
			c.view(ctx, "whep-after-kill9", c.width, c.height, c.units)
			return
		}
		if time.Since(killed) > 30*time.Second {
			c.Fail("kill9", "no new camd serving /healthz 30 s after kill -9 %d; log:\n%s", old, vmcheck.LastLines(readText(messages), 20))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shutdown runs rcK and checks that camd, its supervisor and the boot
// partition are gone and that camd shut down cleanly.
func (c *check) shutdown(ctx context.Context) {
	camd, supervisor := readPid(camdPidFile), readPid(supervisorPidFile)
	start := time.Now()
	out, err := runInit(ctx, 90*time.Second, nil, initd+"rcK")
	printIndented("rcK", out)
	log := readText(messages)
	_, _, _, mounted := mountOf("/boot")
	switch {
	case err != nil:
		c.Fail("rcK", "%v", err)
	case !strings.Contains(out, "Stopping camd: OK"):
		c.Fail("rcK", "no 'Stopping camd: OK'")
	case camd > 0 && alive(camd), supervisor > 0 && alive(supervisor):
		c.Fail("rcK", "camd (%d) or its supervisor (%d) still runs", camd, supervisor)
	case c.healthy():
		c.Fail("rcK", "camd still answers")
	case mounted:
		c.Fail("rcK", "/boot is still mounted")
	case !strings.Contains(log, "shutting down") || !strings.Contains(log, "S90camd: stopped"):
		c.Fail("rcK", "the log lacks camd's 'shutting down' or 'S90camd: stopped':\n%s", vmcheck.LastLines(log, 20))
	default:
		c.Pass("rcK", "camd %d and supervisor %d ended cleanly, /boot unmounted, in %s", camd, supervisor, time.Since(start).Round(100*time.Millisecond))
	}
}

// badConfig starts camd the same way with a boot directory whose camd.toml
// has a typo: S90camd must log the problem and run camd with the image's
// /etc/camd/camd.toml instead.
func (c *check) badConfig(ctx context.Context, dir string) {
	for _, s := range []string{"S01syslogd", "S05bootfs"} {
		out, err := runInit(ctx, 60*time.Second, nil, initd+s, "start")
		printIndented(s, out)
		if err != nil {
			c.Fail("bad-config", "%s start: %v", s, err)
			return
		}
	}
	defer func() {
		for _, s := range []string{"S05bootfs", "S01syslogd"} {
			out, _ := runInit(ctx, 60*time.Second, nil, initd+s, "stop")
			printIndented(s, out)
		}
	}()
	defaults := "/tmp/camd-bad.defaults"
	if err := os.WriteFile(defaults, []byte(". /etc/default/camd\nCAMD_BOOT_DIR="+dir+"\n"), 0o644); err != nil {
		c.Fail("bad-config", "%v", err)
		return
	}
	env := []string{"CAMD_DEFAULTS=" + defaults}
	out, err := runInit(ctx, 60*time.Second, env, initd+"S90camd", "start")
	printIndented("S90camd", out)
	if err != nil {
		c.Fail("bad-config", "S90camd start: %v", err)
		return
	}
	defer func() {
		out, err := runInit(ctx, 90*time.Second, env, initd+"S90camd", "stop")
		printIndented("S90camd", out)
		if err != nil || !strings.Contains(out, "OK") {
			c.Fail("bad-config-stop", "S90camd stop: %v", err)
		}
	}()
	start := time.Now()
	if err := c.waitHealthy(ctx, 90*time.Second); err != nil {
		c.Fail("bad-config", "no camd with the fallback config: %v; log:\n%s", err, vmcheck.LastLines(readText(messages), 20))
		return
	}
	log := readText(messages)
	want := "S90camd: ERROR: " + dir + "/camd.toml is not valid; camd starts with /etc/camd/camd.toml instead"
	_, cmdline := processInfo(readPid(camdPidFile))
	switch {
	case !strings.Contains(log, want):
		c.Fail("bad-config", "the log lacks %q:\n%s", want, vmcheck.LastLines(log, 20))
	case !strings.Contains(log, "widht"):
		c.Fail("bad-config", "the log does not name the bad key:\n%s", vmcheck.LastLines(log, 20))
	case !strings.Contains(cmdline, "-config /etc/camd/camd.toml"):
		c.Fail("bad-config", "camd runs as %q, want -config /etc/camd/camd.toml", cmdline)
	default:
		c.Pass("bad-config", "%s/camd.toml rejected; log: %q; camd with /etc/camd/camd.toml serves /healthz after %s",
			dir, errorLines(log), time.Since(start).Round(time.Millisecond))
		// The image's camd.toml: the first camera at 1280x720, and no
		// token, so camd made one in its state directory on tmpfs.
		tok, err := os.ReadFile(stateToken)
		if err != nil {
			c.Fail("whep-fallback", "no token made by camd: %v", err)
			break
		}
		configured := c.token
		c.token = strings.TrimSpace(string(tok))
		c.view(ctx, "whep-fallback", 1280, 720, 10)
		c.token = configured
	}
	printIndented("log", supervisorLines(readText(messages)))
}

func (c *check) healthy() bool {
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(c.base + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (c *check) waitHealthy(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for !c.healthy() {
		if time.Now().After(deadline) {
			return fmt.Errorf("no 200 from %s/healthz within %s; log:\n%s", c.base, limit, vmcheck.LastLines(readText(messages), 20))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// runInit runs an init script as BusyBox init does (its environment, no
// stdin), with a limit, and returns its output.
func runInit(ctx context.Context, limit time.Duration, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(append([]string{}, initEnv...), env...)
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Daemons the script starts must not hold its output open.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s: not done within %s", strings.Join(args, " "), limit)
	}
	return out.String(), err
}

func run(ctx context.Context, limit time.Duration, env []string, args ...string) error {
	out, err := runInit(ctx, limit, env, args...)
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out))
	}
	return nil
}

// printIndented logs a script's output under a prefix, so that none of
// its lines reads as a PASS or FAIL line.
func printIndented(prefix, out string) {
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if l != "" {
			fmt.Printf("  %s| %s\n", prefix, l)
		}
	}
}

// mountOf returns the device, type and options of the mount at dir.
func mountOf(dir string) (dev, fstype, opts string, ok bool) {
	for _, l := range strings.Split(readText("/proc/mounts"), "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[1] == dir {
			return f[0], f[2], f[3], true
		}
	}
	return "", "", "", false
}

// lookupID returns field (2: uid or gid) of name in a passwd or group file.
func lookupID(file, name string, field int) (int, error) {
	sc := bufio.NewScanner(strings.NewReader(readText(file)))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) > field && f[0] == name {
			return strconv.Atoi(f[field])
		}
	}
	return 0, fmt.Errorf("%s: no %s", file, name)
}

// processInfo returns a process's real uid and its command line.
func processInfo(pid int) (uid int, cmdline string) {
	uid = -1
	for _, l := range strings.Split(readText(fmt.Sprintf("/proc/%d/status", pid)), "\n") {
		if v, ok := strings.CutPrefix(l, "Uid:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				uid, _ = strconv.Atoi(f[0])
			}
		}
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return uid, strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

func readPid(path string) int {
	n, err := strconv.Atoi(strings.TrimSpace(readText(path)))
	if err != nil {
		return 0
	}
	return n
}

// alive reports whether pid runs (a zombie does not count).
func alive(pid int) bool {
	st := readText(fmt.Sprintf("/proc/%d/stat", pid))
	if i := strings.LastIndexByte(st, ')'); i >= 0 && len(st) > i+2 {
		return st[i+2] != 'Z'
	}
	return false
}

func readText(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// errorLines returns S90camd's ERROR line of a log and the problems
// under it, from "S90camd:" on, joined with " / ".
func errorLines(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		i := strings.Index(l, "S90camd: ")
		switch {
		case i < 0:
		case strings.HasPrefix(l[i:], "S90camd: ERROR:"):
			out = append(out[:0], l[i:])
		case strings.HasPrefix(l[i:], "S90camd:   ") && len(out) > 0:
			out = append(out, strings.TrimSpace(strings.TrimPrefix(l[i:], "S90camd:")))
		}
	}
	return strings.Join(out, " / ")
}

// supervisorLines returns the log's lines from S90camd, for the record.
func supervisorLines(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if i := strings.Index(l, "S90camd: "); i >= 0 {
			out = append(out, l[i:])
		}
	}
	return strings.Join(out, "\n")
}
