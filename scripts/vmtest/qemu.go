package vmtest

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// qemuBinary is the system emulator per Debian architecture, with the
// Debian package that provides it.
var qemuBinary = map[string][2]string{
	"amd64": {"qemu-system-x86_64", "qemu-system-x86"},
	"arm64": {"qemu-system-aarch64", "qemu-system-arm"},
}

// kvmUsable reports whether /dev/kvm may run a guest of arch here: it
// opens, and no earlier run found it broken (nested virtualisation can
// offer a /dev/kvm whose guests hang or abort; see markKVMBroken).
func kvmUsable(cache, arch string) bool {
	if os.Getenv("VMTEST_KVM") == "0" || arch != runtime.GOARCH || fileExists(kvmMarker(cache)) {
		return false
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// kvmMarker is the file recording that KVM failed on this host kernel.
func kvmMarker(cache string) string {
	var u unix.Utsname
	_ = unix.Uname(&u)
	return filepath.Join(cache, "kvm-broken-"+unix.ByteSliceToString(u.Release[:]))
}

// markKVMBroken records why KVM failed, so later runs go straight to TCG.
func markKVMBroken(cache, why string) error {
	return os.WriteFile(kvmMarker(cache), []byte(why+"\n"), 0o644)
}

// qemuArgs is the command line booting vmlinuz with initrd: no network
// devices, the serial console on stdout, and no reboot (a panic or
// poweroff ends qemu). disks are raw images attached read-only as
// virtio-blk-pci disks in order (/dev/vda, /dev/vdb, ...).
func qemuArgs(arch, vmlinuz, initrd string, kvm bool, disks []string) (string, []string) {
	common := []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-m", "1024", "-smp", "2",
		"-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
		"-kernel", vmlinuz, "-initrd", initrd,
	}
	for i, d := range disks {
		id := fmt.Sprintf("disk%d", i)
		common = append(common, "-drive", "file="+strings.ReplaceAll(d, ",", ",,")+",if=none,format=raw,readonly=on,id="+id,
			"-device", "virtio-blk-pci,drive="+id)
	}
	cmdline := "rdinit=/init panic=-1 loglevel=4"
	switch arch {
	case "arm64":
		// pauth-impdef: the architected pointer-authentication
		// algorithm is slow to emulate; the implementation-defined one
		// behaves the same for the guest.
		return qemuBinary[arch][0], append([]string{"-M", "virt", "-cpu", "max,pauth-impdef=on", "-accel", "tcg",
			"-append", "console=ttyAMA0 " + cmdline}, common...)
	default:
		accel := []string{"-accel", "tcg", "-cpu", "max"}
		if kvm {
			accel = []string{"-accel", "kvm", "-cpu", "host"}
		}
		return qemuBinary[arch][0], append(append(accel, "-M", "pc", "-append", "console=ttyS0 "+cmdline), common...)
	}
}

// caseResult is what the console showed of one case.
type caseResult struct {
	Name     string
	Started  bool
	Exit     int      // -1 when the EXIT marker never came
	Lines    []string // PASS/FAIL/SKIP lines
	Duration time.Duration
	start    time.Time
}

// Verdict is PASS, FAIL or SKIP for the whole case: FAIL on a non-zero
// exit or any FAIL line; SKIP when the program skipped the case as a whole
// ("SKIP <case> …") or only printed SKIP lines.
func (c *caseResult) Verdict() string {
	fails, passes, skips := c.count()
	switch {
	case c.Exit != 0 || fails > 0:
		return "FAIL"
	case skips > 0 && (passes == 0 || slices.ContainsFunc(c.Lines, func(l string) bool { return strings.HasPrefix(l, "SKIP "+c.Name+" ") })):
		return "SKIP"
	default:
		return "PASS"
	}
}

func (c *caseResult) count() (fails, passes, skips int) {
	for _, l := range c.Lines {
		switch {
		case strings.HasPrefix(l, "FAIL "):
			fails++
		case strings.HasPrefix(l, "PASS "):
			passes++
		case strings.HasPrefix(l, "SKIP "):
			skips++
		}
	}
	return
}

// bootResult is what one VM run showed.
type bootResult struct {
	Boot     string        // the VMTEST BOOT line
	BootTime time.Duration // qemu start to that line
	Devices  string        // the VMTEST DEVICES line
	Modules  []string      // "name ok" or "name FAIL"
	Cases    []*caseResult
	Exit     int // the init's VMTEST EXIT value, -1 when it never came
	Elapsed  time.Duration
	TimedOut bool
	// Records are the V4L2 exchanges a program printed between
	// "BEGIN RECORD <name>" and "END RECORD <name>" (base64), decoded.
	Records map[string][]byte
}

// consoleParser follows the markers of initScript.
type consoleParser struct {
	r      *bootResult
	cur    *caseResult
	t0     time.Time
	record string // name of the record being read
	b64    strings.Builder
}

func (p *consoleParser) line(now time.Time, l string) {
	l = strings.TrimRight(l, "\r")
	if name, ok := strings.CutPrefix(l, "BEGIN RECORD "); ok {
		p.record = name
		p.b64.Reset()
		return
	}
	if p.record != "" {
		if l == "END RECORD "+p.record {
			if b, err := base64.StdEncoding.DecodeString(p.b64.String()); err == nil {
				if p.r.Records == nil {
					p.r.Records = map[string][]byte{}
				}
				p.r.Records[p.record] = b
			}
			p.record = ""
		} else {
			p.b64.WriteString(strings.TrimSpace(l))
		}
		return
	}
	if f, ok := strings.CutPrefix(l, "VMTEST "); ok {
		p.marker(now, f)
		return
	}
	if p.cur != nil && (strings.HasPrefix(l, "PASS ") || strings.HasPrefix(l, "FAIL ") || strings.HasPrefix(l, "SKIP ")) {
		p.cur.Lines = append(p.cur.Lines, l)
	}
}

func (p *consoleParser) marker(now time.Time, f string) {
	word, rest, _ := strings.Cut(f, " ")
	switch word {
	case "BOOT":
		p.r.Boot, p.r.BootTime = rest, now.Sub(p.t0)
	case "DEVICES":
		p.r.Devices = rest
	case "MODULE":
		p.r.Modules = append(p.r.Modules, rest)
	case "EXIT":
		fmt.Sscanf(rest, "%d", &p.r.Exit)
	case "CASE":
		name, ev, _ := strings.Cut(rest, " ")
		switch {
		case ev == "START":
			p.cur = &caseResult{Name: name, Started: true, Exit: -1, start: now}
			p.r.Cases = append(p.r.Cases, p.cur)
		case strings.HasPrefix(ev, "EXIT ") && p.cur != nil && p.cur.Name == name:
			fmt.Sscanf(strings.TrimPrefix(ev, "EXIT "), "%d", &p.cur.Exit)
			p.cur.Duration = now.Sub(p.cur.start)
			p.cur = nil
		}
	}
}

// bootOptions say what to boot and how long to wait.
type bootOptions struct {
	Arch, Vmlinuz, Initrd string
	Disks                 []string // raw images, attached read-only
	KVM                   bool
	InitWithin            time.Duration // kill qemu if /init has not started by then
	Timeout               time.Duration // kill qemu after this, whatever happens
}

// boot runs qemu until the guest powers off or a limit passes (then qemu
// is killed), copying the console to log.
func boot(ctx context.Context, o bootOptions, log io.Writer) (*bootResult, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	name, args := qemuArgs(o.Arch, o.Vmlinuz, o.Initrd, o.KVM, o.Disks)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	cmd.Stderr = cmd.Stdout
	p := &consoleParser{r: &bootResult{Exit: -1}, t0: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	booted := make(chan struct{})
	var initLate atomic.Bool
	go func() {
		select {
		case <-booted:
		case <-ctx.Done():
		case <-time.After(o.InitWithin):
			initLate.Store(true)
			cancel()
		}
	}()
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fmt.Fprintln(log, sc.Text())
		seen := p.r.Boot != ""
		p.line(time.Now(), sc.Text())
		if !seen && p.r.Boot != "" {
			close(booted)
		}
	}
	werr := cmd.Wait()
	p.r.Elapsed = time.Since(p.t0)
	switch {
	case initLate.Load():
		p.r.TimedOut = true
		return p.r, fmt.Errorf("%s: /init did not start within %s; killed", name, o.InitWithin)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		p.r.TimedOut = true
		return p.r, fmt.Errorf("%s: killed after %s (hard timeout)", name, o.Timeout)
	case werr != nil:
		return p.r, fmt.Errorf("%s: %w", name, werr)
	}
	return p.r, nil
}
