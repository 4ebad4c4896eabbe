package vmtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// vmCase is one program run inside the VM.
type vmCase struct {
	Name    string
	Pkg     string            // main package, relative to the module root
	Args    []string          // command line after the program name
	Timeout time.Duration     // the VM kills the program after this
	Files   map[string]string // absolute path in the VM → path under the module root
	// Needs are other packages the program starts (as /bin/<basename>);
	// the case fails without running when one does not build.
	Needs []string
	// Record is added to Args when VMTEST_RECORDS asks for the programs'
	// V4L2 exchanges.
	Record []string
	// Setup, when set, makes on the host what the case adds to the VM:
	// files in the root file system and disks. An error fails the case
	// as one that does not build.
	Setup func(ctx context.Context, s setupEnv) (*caseSetup, error)
}

// setupEnv is what a case's Setup gets: the module root, the VM's
// architecture and a scratch directory that lives as long as the run.
type setupEnv struct {
	Root, Arch, Dir string
}

// caseSetup is what a case adds to the VM beyond its program.
type caseSetup struct {
	Root  map[string]rootFile // absolute path in the VM → file
	Disks []string            // raw images on the host, attached read-only in order
}

// Bin is the program's name in the VM's /bin.
func (c vmCase) Bin() string { return filepath.Base(filepath.Clean(c.Pkg)) }

// defaultTimeout is a case's limit when it names none: generous, since
// arm64 (and amd64 without KVM) run under emulation.
const defaultTimeout = 90 * time.Second

// testStream puts capture/testdata's H.264 stream into the VM.
var testStream = map[string]string{"/data/testsrc-320x240.h264": "capture/testdata/testsrc-320x240.h264"}

// defaultCases is what TestVM runs. The V4L2 program's own per-case limit
// is kept below the VM's so that it reports which case hung.
func defaultCases() []vmCase {
	return []vmCase{
		{Name: "probe", Pkg: "./scripts/vmtest/probe"},
		{Name: "v4l2probe", Pkg: "./hw/v4l2/cmd/v4l2probe", Args: []string{"-timeout", "60s"}, Timeout: 8*60*time.Second + 20*time.Second,
			Record: []string{"-record", "-"}},
		{Name: "camd-file", Pkg: "./scripts/vmtest/camdcheck", Args: []string{"-source", "file"}, Timeout: 120 * time.Second,
			Needs: []string{"./cmd/camd"}, Files: testStream},
		{Name: "camd-v4l2", Pkg: "./scripts/vmtest/camdcheck", Timeout: 120 * time.Second,
			Needs: []string{"./cmd/camd"}, Files: testStream},
		boardCase(), // board.go
	}
}

// selectCases applies VMTEST_PROG (an ad-hoc program with arguments) and
// VMTEST_CASES (a regexp on names) to the default cases.
func selectCases(prog, filter string, record bool) ([]vmCase, error) {
	cases, err := filterCases(prog, filter)
	if err != nil || !record {
		return cases, err
	}
	for i, c := range cases {
		cases[i].Args = append(slices.Clip(c.Args), c.Record...)
	}
	return cases, nil
}

func filterCases(prog, filter string) ([]vmCase, error) {
	if prog != "" {
		f := strings.Fields(prog)
		c := vmCase{Pkg: f[0], Args: f[1:]}
		c.Name = c.Bin()
		return []vmCase{c}, nil
	}
	cases := defaultCases()
	if filter == "" {
		return cases, nil
	}
	re, err := regexp.Compile(filter)
	if err != nil {
		return nil, fmt.Errorf("VMTEST_CASES: %w", err)
	}
	var out []vmCase
	for _, c := range cases {
		if re.MatchString(c.Name) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("VMTEST_CASES %q matches no case", filter)
	}
	return out, nil
}

// present reports whether the case's package exists in the module (a
// program still being written is reported as skipped, not failed).
func (c vmCase) present(root string) bool {
	_, err := os.Stat(filepath.Join(root, c.Pkg))
	return err == nil
}

func (c vmCase) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return defaultTimeout
}

// initScript is the VM's /init: mounts, modules, loopback, then every case
// under its time limit, with markers the host parses, then power off.
func initScript(arch string, cases []vmCase) string {
	var b strings.Builder
	fmt.Fprintf(&b, `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin HOME=/tmp VMTEST_ARCH=%s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
ip link set lo up
echo "VMTEST BOOT $(uname -r) $(uname -m) cpus=$(nproc)"
depmod
failed=0
`, arch)
	for _, m := range vmModules {
		fmt.Fprintf(&b, "if modprobe %[1]s; then echo 'VMTEST MODULE %[1]s ok'; else echo 'VMTEST MODULE %[1]s FAIL'; failed=$((failed+1)); fi\n", m.Name)
	}
	b.WriteString(`echo "VMTEST DEVICES $(cd /sys/class/video4linux && for d in *; do printf '%s=%s,' $d "$(cat $d/name | tr ' ' _)"; done)"
# Kernel messages from here on would cut into the programs' lines; they
# are printed at the end instead.
dmesg -n 1
run_case() {
	name=$1; limit=$2; shift 2
	echo "VMTEST CASE $name START"
	(cd /tmp && timeout -s KILL "$limit" "$@" </dev/null)
	rc=$?
	echo "VMTEST CASE $name EXIT $rc"
	[ $rc -eq 0 ] || failed=$((failed+1))
}
`)
	for _, c := range cases {
		fmt.Fprintf(&b, "run_case %s %d /bin/%s", shellQuote(c.Name), int(c.timeout().Seconds()), shellQuote(c.Bin()))
		for _, a := range c.Args {
			b.WriteString(" " + shellQuote(a))
		}
		b.WriteString("\n")
	}
	b.WriteString(`if [ $failed -ne 0 ]; then echo "VMTEST DMESG"; dmesg | tail -n 80; fi
echo "VMTEST EXIT $failed"
sync
poweroff -f
`)
	return b.String()
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ',' || r == ':' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
