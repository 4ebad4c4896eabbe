package vmtest

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// cpioWriter writes a gzip-compressed cpio archive in the "newc" format,
// which is what the kernel unpacks as initramfs
// (Documentation/driver-api/early-userspace/buffer-format.rst). Parent
// directories are added on demand; the first error sticks.
type cpioWriter struct {
	bw   *bufio.Writer
	gz   *gzip.Writer
	ino  uint32
	dirs map[string]bool
	err  error
}

func newCPIO(w io.Writer) *cpioWriter {
	bw := bufio.NewWriterSize(w, 1<<20)
	gz, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	return &cpioWriter{bw: bw, gz: gz, ino: 1, dirs: map[string]bool{"": true, ".": true}}
}

const (
	modeDir  = 0o040000
	modeFile = 0o100000
	modeLink = 0o120000
	modeChar = 0o020000
)

func (c *cpioWriter) entry(name string, mode uint32, data []byte, rdevMajor, rdevMinor uint32) {
	if c.err != nil {
		return
	}
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	c.parents(name)
	nlink := uint32(1)
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.ino++
	c.write([]byte(hdr))
	c.write(append([]byte(name), 0))
	c.pad(len(hdr) + len(name) + 1)
	c.write(data)
	c.pad(len(data))
}

func (c *cpioWriter) parents(name string) {
	d := path.Dir(name)
	if c.dirs[d] {
		return
	}
	c.parents(d)
	c.dirs[d] = true
	c.entry(d, modeDir|0o755, nil, 0, 0)
}

func (c *cpioWriter) write(b []byte) {
	if c.err == nil && len(b) > 0 {
		_, c.err = c.gz.Write(b)
	}
}

func (c *cpioWriter) pad(n int) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// Dir adds a directory.
func (c *cpioWriter) Dir(name string) {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if !c.dirs[name] {
		c.dirs[name] = true
		c.entry(name, modeDir|0o755, nil, 0, 0)
	}
}

// File adds a regular file with permission bits perm.
func (c *cpioWriter) File(name string, perm uint32, data []byte) {
	c.entry(name, modeFile|perm, data, 0, 0)
}

// Symlink adds name pointing at target.
func (c *cpioWriter) Symlink(name, target string) {
	c.entry(name, modeLink|0o777, []byte(target), 0, 0)
}

// CharDev adds a character device node (no root needed: it is only bytes
// in the archive; the kernel creates it).
func (c *cpioWriter) CharDev(name string, major, minor uint32) {
	c.entry(name, modeChar|0o600, nil, major, minor)
}

// Close writes the trailer and flushes.
func (c *cpioWriter) Close() error {
	c.entry("TRAILER!!!", 0, nil, 0, 0)
	if c.err != nil {
		return fmt.Errorf("initramfs: %w", c.err)
	}
	if err := c.gz.Close(); err != nil {
		return fmt.Errorf("initramfs gzip: %w", err)
	}
	if err := c.bw.Flush(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}

// image lists what goes into one VM's initramfs.
type image struct {
	Kernel   *kernel
	Busybox  string            // path of the static busybox for the arch
	Init     string            // the /init script
	Binaries map[string]string // /bin name → host path
	Files    map[string]string // absolute path in the VM → host path
	// Root holds what cases add to the root file system (caseSetup),
	// absolute path → entry; it wins over a base file of the same name.
	Root map[string]rootFile
}

// rootFile is a file, or a symlink when Link is set, in the VM's root.
type rootFile struct {
	Data []byte
	Mode uint32 // permission bits
	Link string
}

// writeInitramfs packs img into the file out.
func writeInitramfs(img image, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	c := newCPIO(f)
	for _, d := range []string{"dev", "proc", "sys", "tmp", "run", "root", "etc/modprobe.d"} {
		c.Dir(d)
	}
	c.CharDev("dev/console", 5, 1)
	c.CharDev("dev/null", 1, 3)
	add := func(name string, perm uint32, host string) {
		b, err := os.ReadFile(host)
		if err != nil && c.err == nil {
			c.err = err
		}
		c.File(name, perm, b)
	}
	add("bin/busybox", 0o755, img.Busybox)
	c.File("init", 0o755, []byte(img.Init))
	c.File("etc/modprobe.d/vmtest.conf", 0o644, []byte(modprobeConf()))
	if _, ok := img.Root["/etc/passwd"]; !ok {
		c.File("etc/passwd", 0o644, []byte("root:x:0:0:root:/tmp:/bin/sh\n"))
	}
	for _, m := range img.Kernel.Modules {
		add(m, 0o644, filepath.Join(img.Kernel.Dir, m))
	}
	for name, host := range img.Binaries {
		add("bin/"+name, 0o755, host)
	}
	for name, host := range img.Files {
		add(name, 0o644, host)
	}
	for _, name := range slices.Sorted(maps.Keys(img.Root)) {
		if f := img.Root[name]; f.Link != "" {
			c.Symlink(name, f.Link)
		} else {
			c.File(name, f.Mode, f.Data)
		}
	}
	if err := c.Close(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}

// loadBusybox returns the static busybox binary for arch from Debian's
// busybox-static, extracted once into the cache.
func loadBusybox(ctx context.Context, a *apt, cache, arch string) (string, error) {
	pkg := "busybox-static:" + arch
	version, err := a.candidate(ctx, pkg)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "busybox", arch+"-"+strings.ReplaceAll(version, ":", "_"))
	bin := filepath.Join(dir, "busybox")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	debs, err := a.download(ctx, pkg+"="+version)
	if err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(filepath.Join(cache, "tmp"), "busybox-")
	if err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	defer os.RemoveAll(work)
	if err := run(ctx, "", "dpkg-deb", "-x", debs[0], work); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	if err := os.Rename(filepath.Join(work, "bin", "busybox"), bin); err != nil {
		return "", fmt.Errorf("busybox-static %s: %w", arch, err)
	}
	return bin, nil
}
