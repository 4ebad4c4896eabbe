package vmtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// vmModules are loaded in the VM in this order (modprobe pulls in their
// dependencies), with these options. The device numbers and labels are
// what the test programs expect (hw/v4l2/VMTEST.md).
var vmModules = []struct{ Name, Options string }{
	{"vivid", ""},
	{"vicodec", ""},
	{"v4l2loopback", "devices=1 video_nr=40 card_label=camd-loopback max_buffers=4"},
	// Disks (a case's FAT image on virtio-blk-pci) and the FAT file
	// system with the code page and character set Debian's kernel
	// defaults to (FAT_DEFAULT_CODEPAGE 437, IOCHARSET ascii).
	{"virtio_pci", ""},
	{"virtio_blk", ""},
	{"vfat", ""},
	{"nls_cp437", ""},
	{"nls_ascii", ""},
}

// moduleDirs are where unpackImage looks for modules in Debian's kernel
// package, under lib/modules/<release>/kernel/: a directory (ending in /)
// or one file.
var moduleDirs = []string{"drivers/media/", "drivers/virtio/", "drivers/block/virtio_blk.ko", "fs/fat/", "fs/nls/"}

func wantedModule(rel string) bool {
	if !strings.HasSuffix(rel, ".ko") {
		return false
	}
	for _, d := range moduleDirs {
		if rel == d || strings.HasSuffix(d, "/") && strings.HasPrefix(rel, d) {
			return true
		}
	}
	return false
}

// moduleSetKey names the module set in the kernel cache's directory.
func moduleSetKey() string {
	h := sha256.New()
	for _, m := range vmModules {
		fmt.Fprintln(h, m.Name)
	}
	for _, d := range moduleDirs {
		fmt.Fprintln(h, d)
	}
	return hex.EncodeToString(h.Sum(nil))[:8]
}

// crossPrefix is the GNU triplet prefix of Debian's cross compilers
// (gcc-aarch64-linux-gnu, gcc-x86-64-linux-gnu).
var crossPrefix = map[string]string{"amd64": "x86_64-linux-gnu-", "arm64": "aarch64-linux-gnu-"}

// crossPackage names the Debian package that provides crossPrefix+"gcc".
var crossPackage = map[string]string{"amd64": "gcc-x86-64-linux-gnu", "arm64": "gcc-aarch64-linux-gnu"}

// buildModules builds vicodec (with v4l2-mem2mem when the kernel lacks
// it) and v4l2loopback against the headers of k, cross-compiling when k's
// architecture is not the host's.
func buildModules(ctx context.Context, work string, k *kernel, abi, hostArch string, headerDebs []string, loopbackDeb, src string) ([]module, error) {
	root := filepath.Join(work, "root")
	for _, deb := range append(headerDebs, loopbackDeb) {
		if err := run(ctx, "", "dpkg-deb", "-x", deb, root); err != nil {
			return nil, err
		}
	}
	hdr := filepath.Join(root, "usr/src/linux-headers-"+k.Release)
	// Debian's per-flavour Makefile includes the common one by absolute
	// path; point it into the private root.
	mk := filepath.Join(hdr, "Makefile")
	b, err := os.ReadFile(mk)
	if err != nil {
		return nil, fmt.Errorf("headers: %w", err)
	}
	b = bytes.ReplaceAll(b, []byte(" /usr/src/"), []byte(" "+root+"/usr/src/"))
	if err := os.WriteFile(mk, b, 0o644); err != nil {
		return nil, fmt.Errorf("headers: %w", err)
	}
	symvers, err := os.ReadFile(filepath.Join(hdr, "Module.symvers"))
	if err != nil {
		return nil, fmt.Errorf("headers: %w", err)
	}
	// Debian's amd64 kernel has no driver that selects V4L2_MEM2MEM_DEV,
	// so vicodec brings its own copy there; arm64 has it built.
	needM2M := !bytes.Contains(symvers, []byte("\tv4l2_m2m_init\t"))

	vicodec := filepath.Join(work, "build", "vicodec")
	files, _ := filepath.Glob(filepath.Join(src, "drivers/media/test-drivers/vicodec/*.[ch]"))
	kbuild := "obj-m := vicodec.o\nvicodec-objs := vicodec-core.o codec-fwht.o codec-v4l2-fwht.o\n"
	if needM2M {
		files = append(files, filepath.Join(src, "drivers/media/v4l2-core/v4l2-mem2mem.c"))
		kbuild += "obj-m += v4l2-mem2mem.o\n"
	}
	if err := copyInto(vicodec, files, kbuild); err != nil {
		return nil, err
	}
	loopback := filepath.Join(work, "build", "v4l2loopback")
	files, _ = filepath.Glob(filepath.Join(root, "usr/src/v4l2loopback-*/*.[ch]"))
	if err := copyInto(loopback, files, "obj-m := v4l2loopback.o\n"); err != nil {
		return nil, err
	}

	args := []string{"-C", hdr, fmt.Sprintf("-j%d", runtime.NumCPU())}
	if k.Arch != hostArch {
		prefix := crossPrefix[k.Arch]
		if _, err := exec.LookPath(prefix + "gcc"); err != nil {
			return nil, fmt.Errorf("%sgcc not found: install %s to build %s modules", prefix, crossPackage[k.Arch], k.Arch)
		}
		args = append(args, "CROSS_COMPILE="+prefix)
	}
	var mods []module
	for _, dir := range []string{vicodec, loopback} {
		if err := run(ctx, "", "make", append(args, "M="+dir, "modules")...); err != nil {
			return nil, fmt.Errorf("%s module for %s: %w", filepath.Base(dir), k.Release, err)
		}
		kos, _ := filepath.Glob(filepath.Join(dir, "*.ko"))
		if len(kos) == 0 {
			return nil, fmt.Errorf("%s: %w", dir, errNoModules)
		}
		for _, ko := range kos {
			data, err := os.ReadFile(ko)
			if err != nil {
				return nil, fmt.Errorf("module: %w", err)
			}
			info, err := readModinfo(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ko, err)
			}
			rel := filepath.Join("lib/modules", k.Release, "extra", filepath.Base(ko))
			mods = append(mods, module{rel: rel, data: data, info: info})
		}
	}
	return mods, nil
}

// copyInto makes dir with copies of files and a Kbuild file.
func copyInto(dir string, files []string, kbuild string) error {
	if len(files) == 0 {
		return fmt.Errorf("%s: no sources to build", filepath.Base(dir))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("module sources: %w", err)
		}
		if err := writeFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			return err
		}
	}
	return writeFile(filepath.Join(dir, "Kbuild"), []byte(kbuild), 0o644)
}

// modprobeConf is /etc/modprobe.d/vmtest.conf: the options of vmModules,
// so that a reload inside the VM gets the same ones.
func modprobeConf() string {
	var b strings.Builder
	for _, m := range vmModules {
		if m.Options != "" {
			fmt.Fprintf(&b, "options %s %s\n", strings.ReplaceAll(m.Name, "-", "_"), m.Options)
		}
	}
	return b.String()
}
