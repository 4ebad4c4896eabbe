package vmtest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newcEntry is one member of a newc archive as the kernel reads it.
type newcEntry struct {
	name         string
	mode         uint32
	data         []byte
	rmaj, rminor uint32
}

// readNewc parses a newc archive per buffer-format.rst: 110-byte header,
// name padded so that header+name is a multiple of 4, data padded to 4.
func readNewc(t *testing.T, b []byte) []newcEntry {
	t.Helper()
	var out []newcEntry
	off := 0
	field := func(i int) uint32 {
		v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
		if err != nil {
			t.Fatalf("header field %d at %d: %v", i, off, err)
		}
		return uint32(v)
	}
	for {
		if off%4 != 0 {
			t.Fatalf("header at %d is not 4-byte aligned", off)
		}
		if string(b[off:off+6]) != "070701" {
			t.Fatalf("bad magic at %d: %q", off, b[off:off+6])
		}
		mode, size, rmaj, rmin, nsize := field(1), field(6), field(9), field(10), field(11)
		name := string(b[off+110 : off+110+int(nsize)-1])
		if b[off+110+int(nsize)-1] != 0 {
			t.Fatalf("%s: name not NUL-terminated", name)
		}
		off += (110 + int(nsize) + 3) &^ 3
		data := b[off : off+int(size)]
		off += (int(size) + 3) &^ 3
		if name == "TRAILER!!!" {
			return out
		}
		out = append(out, newcEntry{name, mode, data, rmaj, rmin})
	}
}

func TestCPIO(t *testing.T) {
	var buf bytes.Buffer
	c := newCPIO(&buf)
	c.CharDev("dev/console", 5, 1)
	c.File("/bin/busybox", 0o755, []byte("12345"))
	c.Symlink("bin/sh", "busybox")
	c.File("lib/modules/6.1.0-56-arm64/kernel/a.ko", 0o644, []byte("ko"))
	c.Dir("tmp")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	entries := readNewc(t, raw)
	var names []string
	for _, e := range entries {
		names = append(names, e.name)
	}
	want := []string{"dev", "dev/console", "bin", "bin/busybox", "bin/sh", "lib", "lib/modules",
		"lib/modules/6.1.0-56-arm64", "lib/modules/6.1.0-56-arm64/kernel", "lib/modules/6.1.0-56-arm64/kernel/a.ko", "tmp"}
	if !slices.Equal(names, want) {
		t.Fatalf("names\n got %q\nwant %q", names, want)
	}
	byName := map[string]newcEntry{}
	for _, e := range entries {
		byName[e.name] = e
	}
	if e := byName["dev/console"]; e.mode != 0o020600 || e.rmaj != 5 || e.rminor != 1 {
		t.Errorf("console: mode %o rdev %d:%d", e.mode, e.rmaj, e.rminor)
	}
	if e := byName["bin/busybox"]; e.mode != 0o100755 || string(e.data) != "12345" {
		t.Errorf("busybox: mode %o data %q", e.mode, e.data)
	}
	if e := byName["bin/sh"]; e.mode != 0o120777 || string(e.data) != "busybox" {
		t.Errorf("symlink: mode %o target %q", e.mode, e.data)
	}
	if e := byName["lib"]; e.mode != 0o040755 {
		t.Errorf("implicit dir: mode %o", e.mode)
	}
}

func TestClosure(t *testing.T) {
	mods := map[string]modinfo{
		"vivid":             {Name: "vivid", Depends: []string{"videobuf2-vmalloc", "v4l2-tpg", "videodev", "mc"}},
		"videobuf2-vmalloc": {Name: "videobuf2-vmalloc", Depends: []string{"videobuf2-memops", "videobuf2-common"}},
		"videobuf2-memops":  {Name: "videobuf2-memops"},
		"videobuf2-common":  {Name: "videobuf2-common", Depends: []string{"mc"}},
		"v4l2-tpg":          {Name: "v4l2-tpg"},
		"videodev":          {Name: "videodev", Depends: []string{"mc"}},
		"mc":                {Name: "mc"},
		"unused":            {Name: "unused"},
	}
	order, err := closure(mods, []string{"vivid", "videodev"})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	if len(order) != 7 || slices.Contains(order, "unused") {
		t.Fatalf("order %v", order)
	}
	for n, mi := range mods {
		for _, d := range mi.Depends {
			if _, ok := pos[n]; ok && pos[d] > pos[n] {
				t.Errorf("%s comes before its dependency %s: %v", n, d, order)
			}
		}
	}
	mods["mc"] = modinfo{Name: "mc", Depends: []string{"rc-core"}}
	if _, err := closure(mods, []string{"vivid"}); err == nil || !strings.Contains(err.Error(), "rc-core") {
		t.Errorf("missing dependency: err = %v", err)
	}
	mods["mc"] = modinfo{Name: "mc", Depends: []string{"vivid"}}
	if _, err := closure(mods, []string{"vivid"}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: err = %v", err)
	}
}

func TestConsoleParser(t *testing.T) {
	rec := []byte("recorded exchange")
	b64 := base64.StdEncoding.EncodeToString(rec)
	console := strings.Join([]string{
		"[    0.000000] Booting Linux",
		"VMTEST BOOT 6.1.0-56-arm64 aarch64 cpus=2\r",
		"VMTEST MODULE vivid ok",
		"VMTEST MODULE vicodec FAIL",
		"VMTEST CASE probe START",
		"PASS querycap /dev/video0 driver=\"vivid\"",
		"some log line",
		"VMTEST CASE probe EXIT 0",
		"VMTEST CASE v4l2probe START",
		"PASS devices nodes=8",
		"BEGIN RECORD devices", b64[:10], b64[10:], "END RECORD devices",
		"FAIL vicodec no FWHT header",
		"VMTEST CASE v4l2probe EXIT 1",
		"VMTEST CASE camd-v4l2 START",
		"PASS camd-feed device=/dev/video40",
		"SKIP camd-v4l2 camd has no V4L2 source yet",
		"VMTEST CASE camd-v4l2 EXIT 0",
		"VMTEST CASE hung START",
		"PASS first",
		"VMTEST EXIT 3",
	}, "\n")
	p := &consoleParser{r: &bootResult{Exit: -1}, t0: time.Now()}
	for _, l := range strings.Split(console, "\n") {
		p.line(time.Now(), l)
	}
	r := p.r
	if r.Boot != "6.1.0-56-arm64 aarch64 cpus=2" || r.Exit != 3 || len(r.Modules) != 2 {
		t.Fatalf("boot %q exit %d modules %v", r.Boot, r.Exit, r.Modules)
	}
	verdicts := map[string]string{}
	for _, c := range r.Cases {
		verdicts[c.Name] = c.Verdict()
	}
	want := map[string]string{"probe": "PASS", "v4l2probe": "FAIL", "camd-v4l2": "SKIP", "hung": "FAIL"}
	for n, v := range want {
		if verdicts[n] != v {
			t.Errorf("%s: verdict %s, want %s", n, verdicts[n], v)
		}
	}
	if got := r.Records["devices"]; !bytes.Equal(got, rec) {
		t.Errorf("record: %q", got)
	}
	if c := r.Cases[1]; len(c.Lines) != 2 {
		t.Errorf("v4l2probe lines %q (record lines must not count)", c.Lines)
	}
}

// TestInitScript checks the generated /init with the host's sh -n.
func TestInitScript(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	cases := []vmCase{
		{Name: "probe", Pkg: "./scripts/vmtest/probe"},
		{Name: "odd", Pkg: "./x/odd", Args: []string{"-name", "it's a test", "$HOME", ""}, Timeout: 5 * time.Second},
	}
	s := initScript("arm64", cases)
	f := filepath.Join(t.TempDir(), "init")
	if err := os.WriteFile(f, []byte(s), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sh, "-n", f).CombinedOutput(); err != nil {
		t.Fatalf("sh -n: %v\n%s\n%s", err, out, s)
	}
	for _, want := range []string{
		"run_case probe 90 /bin/probe\n",
		`run_case odd 5 /bin/odd -name 'it'\''s a test' '$HOME' ''` + "\n",
		"modprobe v4l2loopback",
		"poweroff -f",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("init lacks %q", want)
		}
	}
	if conf := modprobeConf(); !strings.Contains(conf, "options v4l2loopback devices=1 video_nr=40") {
		t.Errorf("modprobe.conf: %q", conf)
	}
}

func TestAptHelpers(t *testing.T) {
	if got := debName("busybox-static:arm64=1:1.35.0-4+deb12u1+b1"); got != "busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb" {
		t.Errorf("debName: %s", got)
	}
	if got := debName("linux-source-6.1=6.1.192-2"); got != "linux-source-6.1_6.1.192-2_all.deb" {
		t.Errorf("debName: %s", got)
	}
	m := policyLine.FindStringSubmatch("        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages")
	if m == nil || m[1] != "http://deb.debian.org/debian-security" || m[2] != "bookworm-security" || m[3] != "main" {
		t.Errorf("policy line: %q", m)
	}
	if policyLine.MatchString("        100 /var/lib/dpkg/status") {
		t.Error("policy line matched the dpkg status")
	}
}

func TestSelectCases(t *testing.T) {
	cs, err := selectCases("./hw/v4l2/cmd/v4l2probe -case devices -v", "", false)
	if err != nil || len(cs) != 1 || cs[0].Name != "v4l2probe" || !slices.Equal(cs[0].Args, []string{"-case", "devices", "-v"}) {
		t.Fatalf("ad-hoc: %+v %v", cs, err)
	}
	cs, err = selectCases("", "^v4l2", true)
	if err != nil || len(cs) != 1 || !slices.Contains(cs[0].Args, "-record") {
		t.Fatalf("filter+record: %+v %v", cs, err)
	}
	if _, err := selectCases("", "nomatch", false); err == nil {
		t.Error("a filter matching nothing is an error")
	}
}

// TestBootKillsStuckQemu runs boot against a stand-in qemu (a shell
// script on PATH) that hangs, and checks that both limits kill it.
func TestBootKillsStuckQemu(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"$@\" >&2\n[ -n \"$BOOT_LINE\" ] && echo 'VMTEST BOOT 6.1 aarch64 cpus=2'\nexec sleep 60\n"
	if err := os.WriteFile(filepath.Join(dir, "qemu-system-aarch64"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	o := bootOptions{Arch: "arm64", Vmlinuz: "vmlinuz", Initrd: "initrd", InitWithin: 300 * time.Millisecond, Timeout: 10 * time.Second}
	var log bytes.Buffer
	start := time.Now()
	r, err := boot(t.Context(), o, &log)
	if err == nil || !strings.Contains(err.Error(), "/init did not start") || !r.TimedOut {
		t.Fatalf("init limit: err %v, result %+v", err, r)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("killed after %s", d)
	}
	if !strings.Contains(log.String(), "-M virt") || !strings.Contains(log.String(), "console=ttyAMA0") {
		t.Errorf("qemu arguments: %s", log.String())
	}

	t.Setenv("BOOT_LINE", "1")
	o.InitWithin, o.Timeout = 10*time.Second, 500*time.Millisecond
	r, err = boot(t.Context(), o, &log)
	if err == nil || !strings.Contains(err.Error(), "hard timeout") || r.Boot == "" {
		t.Fatalf("hard limit: err %v, result %+v", err, r)
	}
}
