package vmtest

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestVM boots each architecture's VM once and runs every case in it.
func TestVM(t *testing.T) {
	if testing.Short() {
		t.Skip("boots qemu; skipped with -short")
	}
	arches := strings.Split(envOr("VMTEST_ARCH", "amd64,arm64"), ",")
	host, err := hostArch()
	if err == nil {
		if missing := missingTools(host, arches); len(missing) > 0 {
			err = fmt.Errorf("missing %s (scripts/setup installs them)", strings.Join(missing, ", "))
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("VM tests cannot run: %v", err)
		}
		t.Skipf("VM tests cannot run: %v", err)
	}
	cases, err := selectCases(os.Getenv("VMTEST_PROG"), os.Getenv("VMTEST_CASES"), os.Getenv("VMTEST_RECORDS") != "")
	if err != nil {
		t.Fatal(err)
	}
	if v := os.Getenv("VMTEST_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("VMTEST_TIMEOUT: %v", err)
		}
		for i := range cases {
			cases[i].Timeout = d
		}
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cache, err := cacheDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-10*time.Second))
		t.Cleanup(cancel) // after the parallel subtests, unlike defer
	}

	start := time.Now()
	a := newApt(filepath.Join(cache, "apt"), host, arches, t.Logf)
	if err := a.ensure(ctx, os.Getenv("VMTEST_REFRESH") == "1"); err != nil {
		t.Fatal(err)
	}
	type vm struct {
		k       *kernel
		busybox string
	}
	vms := map[string]vm{}
	for _, arch := range arches {
		k, err := loadKernel(ctx, a, cache, arch, t.Logf)
		if err != nil {
			t.Fatalf("%s kernel: %v", arch, err)
		}
		bb, err := loadBusybox(ctx, a, cache, arch)
		if err != nil {
			t.Fatalf("%s busybox: %v", arch, err)
		}
		vms[arch] = vm{k, bb}
	}
	t.Logf("kernels, modules and busybox ready in %.1fs (cache %s)", time.Since(start).Seconds(), cache)

	for _, arch := range arches {
		t.Run(arch, func(t *testing.T) {
			t.Parallel()
			runArch(ctx, t, root, cache, arch, vms[arch].k, vms[arch].busybox, cases)
		})
	}
}

// runArch builds the programs for arch, boots the VM and reports each case
// as a subtest with a one-line summary.
func runArch(ctx context.Context, t *testing.T, root, cache, arch string, k *kernel, busybox string, cases []vmCase) {
	dir := t.TempDir()
	var run, absent []vmCase
	for _, c := range cases {
		if c.present(root) {
			run = append(run, c)
		} else {
			absent = append(absent, c)
		}
	}
	start := time.Now()
	bins, buildErrs := buildPrograms(ctx, root, arch, dir, run)
	var unbuilt []vmCase
	run = slices.DeleteFunc(run, func(c vmCase) bool {
		for _, p := range append([]string{c.Pkg}, c.Needs...) {
			if err := buildErrs[p]; err != nil {
				unbuilt = append(unbuilt, c)
				buildErrs[c.Pkg] = err
				return true
			}
		}
		return false
	})
	rootFiles, disks := setupCases(ctx, root, arch, dir, &run, &unbuilt, buildErrs)
	files := map[string]string{}
	for _, c := range run {
		for vmPath, rel := range c.Files {
			files[vmPath] = filepath.Join(root, rel)
		}
	}
	img := image{Kernel: k, Busybox: busybox, Init: initScript(arch, run), Binaries: bins, Files: files, Root: rootFiles}
	initrd := filepath.Join(dir, "initramfs-"+arch+".cpio.gz")
	if err := writeInitramfs(img, initrd); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(initrd)
	t.Logf("%s: programs built and initramfs packed (%.1f MB) in %.1fs", arch, float64(st.Size())/(1<<20), time.Since(start).Seconds())

	limit := 90 * time.Second
	for _, c := range run {
		limit += c.timeout()
	}
	var console bytes.Buffer
	o := bootOptions{Arch: arch, Vmlinuz: k.Vmlinuz(), Initrd: initrd, Disks: disks, KVM: kvmUsable(cache, arch), Timeout: limit}
	res, bootErr := bootWithFallback(ctx, t, cache, &o, &console)
	if keep := os.Getenv("VMTEST_KEEP"); keep != "" {
		keepFiles(t, keep, arch, initrd, img.Init, console.Bytes())
	}
	if dir := os.Getenv("VMTEST_RECORDS"); dir != "" && res != nil {
		writeRecords(t, filepath.Join(dir, arch), res.Records)
	}
	accel := "tcg"
	if o.KVM {
		accel = "kvm"
	}
	if res != nil {
		t.Logf("%s: %s [%s], init after %.1fs, powered off after %.1fs", arch, res.Boot, accel, res.BootTime.Seconds(), res.Elapsed.Seconds())
		t.Logf("%s: devices %s", arch, res.Devices)
	}
	failed := bootErr != nil || res == nil || res.Exit == -1
	if res != nil {
		for _, m := range res.Modules {
			if strings.HasSuffix(m, " FAIL") {
				t.Errorf("%s: modprobe %s", arch, m)
				failed = true
			}
		}
	}
	for _, c := range unbuilt {
		t.Run(c.Name, func(t *testing.T) {
			t.Errorf("vmtest %s %s: FAIL (does not build)\n%v", arch, c.Name, buildErrs[c.Pkg])
		})
	}
	for _, c := range absent {
		t.Run(c.Name, func(t *testing.T) {
			t.Logf("vmtest %s %s: SKIP (%s is not in the tree yet)", arch, c.Name, c.Pkg)
			t.Skip()
		})
	}
	for _, c := range run {
		var r *caseResult
		if res != nil {
			if i := slices.IndexFunc(res.Cases, func(r *caseResult) bool { return r.Name == c.Name }); i >= 0 {
				r = res.Cases[i]
			}
		}
		t.Run(c.Name, func(t *testing.T) { reportCase(t, arch, c, r) })
		if r == nil || r.Verdict() == "FAIL" {
			failed = true
		}
	}
	if bootErr != nil {
		t.Errorf("%s: %v", arch, bootErr)
	}
	if failed {
		t.Errorf("%s: VM run failed (init exit %d); console:\n%s", arch, resExit(res), tail(console.String(), 200))
	}
}

// setupCases runs the Setup of every case in run; a case whose Setup
// fails moves to unbuilt with its error. It returns what the cases add to
// the root file system and the disks to attach.
func setupCases(ctx context.Context, root, arch, dir string, run, unbuilt *[]vmCase, errs map[string]error) (map[string]rootFile, []string) {
	files := map[string]rootFile{}
	var disks []string
	*run = slices.DeleteFunc(*run, func(c vmCase) bool {
		if c.Setup == nil {
			return false
		}
		caseDir := filepath.Join(dir, "setup-"+c.Name)
		if err := os.MkdirAll(caseDir, 0o755); err != nil {
			errs[c.Pkg] = err
			*unbuilt = append(*unbuilt, c)
			return true
		}
		s, err := c.Setup(ctx, setupEnv{Root: root, Arch: arch, Dir: caseDir})
		if err != nil {
			errs[c.Pkg] = fmt.Errorf("setup of %s: %w", c.Name, err)
			*unbuilt = append(*unbuilt, c)
			return true
		}
		maps.Copy(files, s.Root)
		disks = append(disks, s.Disks...)
		return false
	})
	return files, disks
}

// bootWithFallback boots under KVM when o asks for it and falls back to
// TCG, remembering that in the cache, when KVM does not reach /init.
func bootWithFallback(ctx context.Context, t *testing.T, cache string, o *bootOptions, console *bytes.Buffer) (*bootResult, error) {
	o.InitWithin = 90 * time.Second
	if !o.KVM {
		return boot(ctx, *o, console)
	}
	o.InitWithin = 20 * time.Second
	res, err := boot(ctx, *o, console)
	if res != nil && res.Boot != "" {
		return res, err
	}
	why := fmt.Sprintf("%v: %s", err, tail(console.String(), 3))
	t.Logf("%s: KVM did not boot (%s); using TCG from now on (delete %s to try again)", o.Arch, why, kvmMarker(cache))
	if err := markKVMBroken(cache, why); err != nil {
		t.Log(err)
	}
	console.Reset()
	o.KVM, o.InitWithin = false, 90*time.Second
	return boot(ctx, *o, console)
}

func reportCase(t *testing.T, arch string, c vmCase, r *caseResult) {
	if r == nil || !r.Started {
		t.Fatalf("vmtest %s %s: FAIL (never started: the VM ended or timed out before it)", arch, c.Name)
	}
	for _, l := range r.Lines {
		t.Logf("  %s", l)
	}
	fails, passes, skips := r.count()
	summary := fmt.Sprintf("vmtest %s %s: %s in %.1fs (exit %d; %d pass, %d fail, %d skip)",
		arch, c.Name, r.Verdict(), r.Duration.Seconds(), r.Exit, passes, fails, skips)
	switch r.Verdict() {
	case "FAIL":
		switch r.Exit {
		case -1:
			summary += " — the VM ended (hard timeout or crash) before the program did"
		case 128 + 9:
			summary += fmt.Sprintf(" — killed at its %s limit", c.timeout())
		}
		t.Error(summary)
	case "SKIP":
		t.Log(summary)
		t.Skip()
	default:
		t.Log(summary)
	}
}

func resExit(r *bootResult) int {
	if r == nil {
		return -1
	}
	return r.Exit
}

// buildPrograms compiles camd and every case's program, static, for arch,
// each on its own so that one that does not build fails only its case.
func buildPrograms(ctx context.Context, root, arch, dir string, cases []vmCase) (map[string]string, map[string]error) {
	pkgs := []string{"./cmd/camd"} // always there for programs to start
	for _, c := range cases {
		for _, p := range append([]string{c.Pkg}, c.Needs...) {
			if !slices.Contains(pkgs, p) {
				pkgs = append(pkgs, p)
			}
		}
	}
	bins, errs := map[string]string{}, map[string]error{}
	for _, p := range pkgs {
		name := filepath.Base(filepath.Clean(p))
		bin := filepath.Join(dir, "bin", name)
		cmd := exec.CommandContext(ctx, goTool(), "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, p)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if b, err := cmd.CombinedOutput(); err != nil {
			errs[p] = fmt.Errorf("go build %s for linux/%s: %w\n%s", p, arch, err, b)
			continue
		}
		bins[name] = bin
	}
	return bins, errs
}

func keepFiles(t *testing.T, keep, arch, initrd, init string, console []byte) {
	if err := os.MkdirAll(keep, 0o755); err != nil {
		t.Logf("VMTEST_KEEP: %v", err)
		return
	}
	b, err := os.ReadFile(initrd)
	if err == nil {
		err = os.WriteFile(filepath.Join(keep, filepath.Base(initrd)), b, 0o644)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(keep, "init-"+arch), []byte(init), 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(keep, "console-"+arch+".log"), console, 0o644)
	}
	if err != nil {
		t.Logf("VMTEST_KEEP: %v", err)
	}
}

// writeRecords saves the V4L2 exchanges the programs printed, for the
// unit tests' replay fake.
func writeRecords(t *testing.T, dir string, recs map[string][]byte) {
	for name, b := range recs {
		err := os.MkdirAll(dir, 0o755)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name+".json.gz"), b, 0o644)
		}
		if err != nil {
			t.Errorf("VMTEST_RECORDS: %v", err)
			return
		}
		t.Logf("record %s: %d bytes", filepath.Join(dir, name+".json.gz"), len(b))
	}
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = append([]string{"…"}, l[len(l)-lines:]...)
	}
	return strings.Join(l, "\n")
}
