//go:build linux

package v4l2

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// layoutProgram is a C program that prints every check's value, one per
// line.
func layoutProgram(checks []layoutCheck) string {
	var b strings.Builder
	b.WriteString("#include <stddef.h>\n#include <stdio.h>\n#include <time.h>\n#include <linux/videodev2.h>\n\nint main(void) {\n")
	for _, c := range checks {
		fmt.Fprintf(&b, "\tprintf(\"%%llu\\n\", (unsigned long long)(%s));\n", c.c)
	}
	b.WriteString("\treturn 0;\n}\n")
	return b.String()
}

// buildLayoutProgram compiles the checks' C program with cc into dir.
func buildLayoutProgram(t *testing.T, cc string, checks []layoutCheck, dir string, static bool) string {
	t.Helper()
	src := filepath.Join(dir, "layout.c")
	bin := filepath.Join(dir, "layout")
	if err := os.WriteFile(src, []byte(layoutProgram(checks)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-O0", "-o", bin, src}
	if static {
		args = append([]string{"-static"}, args...)
	}
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", cc, args, err, out)
	}
	return bin
}

func parseValues(t *testing.T, out []byte) []uint64 {
	t.Helper()
	var vals []uint64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		v, err := strconv.ParseUint(strings.TrimSpace(sc.Text()), 10, 64)
		if err != nil {
			t.Fatalf("layout program printed %q: %v", sc.Text(), err)
		}
		vals = append(vals, v)
	}
	return vals
}

// TestLayout compares every struct size, field offset, ioctl number and
// constant this package uses with the kernel headers, compiled by the C
// compiler for this machine ($CC, default gcc). Under TestLayoutCross the
// C values come precomputed in $V4L2_LAYOUT_VALUES.
func TestLayout(t *testing.T) {
	checks := layoutChecks()
	var out []byte
	if file := os.Getenv("V4L2_LAYOUT_VALUES"); file != "" {
		var err error
		if out, err = os.ReadFile(file); err != nil {
			t.Fatal(err)
		}
	} else {
		cc := os.Getenv("CC")
		if cc == "" {
			cc = "gcc"
		}
		if _, err := exec.LookPath(cc); err != nil {
			t.Skipf("no C compiler (%s) to read <linux/videodev2.h> with: %v", cc, err)
		}
		if _, err := os.Stat("/usr/include/linux/videodev2.h"); err != nil {
			t.Skip("no kernel headers: install linux-libc-dev")
		}
		bin := buildLayoutProgram(t, cc, checks, t.TempDir(), false)
		var err error
		if out, err = exec.Command(bin).Output(); err != nil {
			t.Fatalf("%s: %v", bin, err)
		}
	}
	vals := parseValues(t, out)
	if len(vals) != len(checks) {
		t.Fatalf("layout program printed %d values, want %d", len(vals), len(checks))
	}
	bad := 0
	for i, c := range checks {
		if vals[i] != c.goVal {
			t.Errorf("%s/%s: %s is %d in C, %d in Go", runtime.GOOS, runtime.GOARCH, c.c, vals[i], c.goVal)
			bad++
		}
	}
	t.Logf("%s/%s: %d checks, %d mismatches", runtime.GOOS, runtime.GOARCH, len(checks), bad)
}

// TestLayoutCross runs TestLayout for arm64 and arm (GOARM=6 and 7) under
// qemu-user, against C values from Debian's cross compilers
// (gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf; qemu-user).
func TestLayoutCross(t *testing.T) {
	if os.Getenv("V4L2_LAYOUT_VALUES") != "" {
		t.Skip("inside a cross run")
	}
	if testing.Short() {
		t.Skip("builds test binaries for other architectures")
	}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("cross check runs from amd64 or arm64 hosts")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	targets := []struct {
		name, goarch, goarm, cc, qemu string
	}{
		{"arm64", "arm64", "", "aarch64-linux-gnu-gcc", "qemu-aarch64"},
		{"armv7", "arm", "7", "arm-linux-gnueabihf-gcc", "qemu-arm"},
		{"armv6", "arm", "6", "arm-linux-gnueabihf-gcc", "qemu-arm"},
	}
	checks := layoutChecks()
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			if tg.goarch == runtime.GOARCH {
				t.Skip("native: TestLayout covers it")
			}
			for _, tool := range []string{tg.cc, tg.qemu} {
				if _, err := exec.LookPath(tool); err != nil {
					t.Skipf("%s not installed (apt-get install gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf qemu-user)", tool)
				}
			}
			dir := t.TempDir()
			cbin := buildLayoutProgram(t, tg.cc, checks, dir, true)
			vals, err := exec.Command(tg.qemu, cbin).Output()
			if err != nil {
				t.Fatalf("%s %s: %v", tg.qemu, cbin, err)
			}
			valFile := filepath.Join(dir, "values")
			if err := os.WriteFile(valFile, vals, 0o644); err != nil {
				t.Fatal(err)
			}
			testBin := filepath.Join(dir, "v4l2.test")
			build := exec.Command(goBin, "test", "-c", "-o", testBin, ".")
			build.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+tg.goarch, "GOARM="+tg.goarm, "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go test -c for %s: %v\n%s", tg.name, err, out)
			}
			run := exec.Command(tg.qemu, testBin, "-test.run", "^TestLayout$", "-test.v")
			run.Env = append(os.Environ(), "V4L2_LAYOUT_VALUES="+valFile)
			out, err := run.CombinedOutput()
			if err != nil {
				t.Fatalf("TestLayout under %s: %v\n%s", tg.qemu, err, out)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if strings.Contains(line, "checks,") {
					t.Log(strings.TrimSpace(line))
				}
			}
		})
	}
}
