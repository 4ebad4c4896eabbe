package vmtest

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestInitramfsRoot checks what cases add to the root: files with their
// modes, symlinks, and a case's /etc/passwd in place of the base one.
func TestInitramfsRoot(t *testing.T) {
	dir := t.TempDir()
	busybox := filepath.Join(dir, "busybox")
	if err := os.WriteFile(busybox, []byte("bb"), 0o755); err != nil {
		t.Fatal(err)
	}
	img := image{Kernel: &kernel{Dir: dir}, Busybox: busybox, Init: "#!/bin/sh\n", Root: map[string]rootFile{
		"/etc/passwd":         {Data: []byte("camd:x:1000:1000::/:/bin/false\n"), Mode: 0o644},
		"/etc/init.d/S90camd": {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		"/var/run":            {Link: "../run"},
	}}
	out := filepath.Join(dir, "initrd")
	if err := writeInitramfs(img, out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var passwd []string
	byName := map[string]newcEntry{}
	for _, e := range readNewc(t, raw) {
		byName[e.name] = e
		if e.name == "etc/passwd" {
			passwd = append(passwd, string(e.data))
		}
	}
	if !slices.Equal(passwd, []string{"camd:x:1000:1000::/:/bin/false\n"}) {
		t.Errorf("etc/passwd entries %q, want only the case's", passwd)
	}
	if e := byName["etc/init.d/S90camd"]; e.mode != 0o100755 {
		t.Errorf("S90camd mode %o", e.mode)
	}
	if e := byName["var/run"]; e.mode != 0o120777 || string(e.data) != "../run" {
		t.Errorf("var/run: mode %o target %q", e.mode, e.data)
	}
}

func TestDiskArgs(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		_, args := qemuArgs(arch, "vmlinuz", "initrd", false, []string{"/tmp/a,b.vfat"})
		got := strings.Join(args, " ")
		if !strings.Contains(got, "-drive file=/tmp/a,,b.vfat,if=none,format=raw,readonly=on,id=disk0 -device virtio-blk-pci,drive=disk0") {
			t.Errorf("%s: %s", arch, got)
		}
	}
}

func TestWantedModule(t *testing.T) {
	for rel, want := range map[string]bool{
		"drivers/media/test-drivers/vivid/vivid.ko": true,
		"drivers/block/virtio_blk.ko":               true,
		"drivers/block/loop.ko":                     false,
		"fs/fat/vfat.ko":                            true,
		"fs/nls/nls_cp437.ko":                       true,
		"fs/ext4/ext4.ko":                           false,
		"fs/fat/":                                   false,
	} {
		if got := wantedModule(rel); got != want {
			t.Errorf("wantedModule(%q) = %v", rel, got)
		}
	}
}
