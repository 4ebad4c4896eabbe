package vmtest

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// kernel is one architecture's Debian kernel with the modules the VM
// loads, ready to pack into an initramfs.
type kernel struct {
	Arch    string   // Debian architecture: amd64, arm64
	Version string   // Debian package version, e.g. 6.1.192-2
	Release string   // uname -r, e.g. 6.1.0-56-arm64
	Modules []string // module files under Dir, dependencies first
	Dir     string   `json:"-"` // vmlinuz and lib/modules/<Release>/...
}

// Vmlinuz is the kernel image's path.
func (k *kernel) Vmlinuz() string { return filepath.Join(k.Dir, "vmlinuz") }

// module is one .ko to put into the VM.
type module struct {
	rel  string // path under the bundle, lib/modules/<release>/...
	data []byte
	info modinfo
}

// loadKernel returns the cached kernel bundle for arch, building it first
// (downloads, out-of-tree modules) when the cache lacks it.
func loadKernel(ctx context.Context, a *apt, cache, arch string, logf func(string, ...any)) (*kernel, error) {
	meta := "linux-image-" + arch + ":" + arch
	version, err := a.candidate(ctx, meta)
	if err != nil {
		return nil, err
	}
	// Keyed by the module set too: a bundle made for other vmModules
	// lacks some (and other checkouts may still use the old one).
	dir := filepath.Join(cache, "kernel", arch+"-"+version+"-"+moduleSetKey())
	if b, err := os.ReadFile(filepath.Join(dir, "kernel.json")); err == nil {
		k := &kernel{Dir: dir}
		if err := json.Unmarshal(b, k); err == nil {
			return k, nil
		}
	}
	start := time.Now()
	deps, err := a.depends(ctx, meta, version)
	if err != nil {
		return nil, err
	}
	// The metapackage pins the image at the same version:
	// "linux-image-6.1.0-56-arm64 (= 6.1.192-2)".
	m := regexp.MustCompile(`linux-image-(\d\S*)-` + arch + ` \(= ` + regexp.QuoteMeta(version) + `\)`).FindStringSubmatch(deps)
	if m == nil {
		return nil, fmt.Errorf("%s %s depends on %q: no linux-image-<abi>-%s at the same version", meta, version, deps, arch)
	}
	abi := m[1]
	k := &kernel{Arch: arch, Version: version, Release: abi + "-" + arch}
	loopback, err := a.candidate(ctx, "v4l2loopback-dkms")
	if err != nil {
		return nil, err
	}
	debs, err := a.download(ctx,
		"linux-image-"+k.Release+":"+arch+"="+version,
		"linux-headers-"+k.Release+":"+arch+"="+version,
		"linux-headers-"+abi+"-common="+version,
		"linux-kbuild-6.1:"+a.hostArch+"="+version,
		"linux-source-6.1="+version,
		"v4l2loopback-dkms="+loopback,
	)
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(cache, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	work, err := os.MkdirTemp(tmp, "kernel-"+arch+"-")
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	defer os.RemoveAll(work)

	src, err := kernelSources(ctx, cache, version, debs[4])
	if err != nil {
		return nil, err
	}
	built, err := buildModules(ctx, work, k, abi, a.hostArch, debs[1:4], debs[5], src)
	if err != nil {
		return nil, err
	}
	stage := filepath.Join(work, "bundle")
	mods, err := unpackImage(ctx, debs[0], k.Release, stage)
	if err != nil {
		return nil, err
	}
	vivid, ok := mods["vivid"]
	if !ok {
		return nil, fmt.Errorf("%s: no vivid module in the kernel package", filepath.Base(debs[0]))
	}
	for _, b := range built {
		// The exact-ABI check: a module built against other headers has
		// another vermagic and the kernel would refuse it.
		if b.info.Vermagic != vivid.info.Vermagic {
			return nil, fmt.Errorf("%s vermagic %q differs from the kernel's %q", b.info.Name, b.info.Vermagic, vivid.info.Vermagic)
		}
		mods[b.info.Name] = b
	}
	infos := map[string]modinfo{}
	for n, m := range mods {
		infos[n] = m.info
	}
	var roots []string
	for _, m := range vmModules {
		roots = append(roots, m.Name)
	}
	order, err := closure(infos, roots)
	if err != nil {
		return nil, err
	}
	for _, n := range order {
		m := mods[n]
		if err := writeFile(filepath.Join(stage, m.rel), m.data, 0o644); err != nil {
			return nil, err
		}
		k.Modules = append(k.Modules, m.rel)
	}
	b, _ := json.MarshalIndent(k, "", "  ")
	if err := os.WriteFile(filepath.Join(stage, "kernel.json"), b, 0o644); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	if err := os.Rename(stage, dir); err != nil && !fileExists(filepath.Join(dir, "kernel.json")) {
		return nil, fmt.Errorf("cache: %w", err) // (another run may have won the race: fine)
	}
	k.Dir = dir
	logf("%s: kernel %s (%s) with %d modules ready in %.1fs", arch, k.Release, version, len(k.Modules), time.Since(start).Seconds())
	return k, nil
}

// unpackImage streams the linux-image package: vmlinuz goes to
// stage/vmlinuz, the media, virtio and FAT modules (moduleDirs) are read
// into memory with their modinfo (a few megabytes; only the needed ones
// are written).
func unpackImage(ctx context.Context, deb, release, stage string) (map[string]module, error) {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("dpkg-deb: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dpkg-deb: %w", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	mods := map[string]module{}
	var sawKernel bool
	tr := tar.NewReader(out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: tar: %w", filepath.Base(deb), err)
		}
		name := strings.TrimPrefix(path.Clean(h.Name), "./")
		switch {
		case name == "boot/vmlinuz-"+release:
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if err := writeFile(filepath.Join(stage, "vmlinuz"), data, 0o644); err != nil {
				return nil, err
			}
			sawKernel = true
		case isModule(name, release):
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			info, err := readModinfo(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			mods[info.Name] = module{rel: name, data: data, info: info}
		}
	}
	if !sawKernel {
		return nil, fmt.Errorf("%s: no boot/vmlinuz-%s", filepath.Base(deb), release)
	}
	return mods, nil
}

// isModule reports whether name, a path in the kernel package, is one of
// moduleDirs' modules.
func isModule(name, release string) bool {
	rel, ok := strings.CutPrefix(name, "lib/modules/"+release+"/kernel/")
	return ok && wantedModule(rel)
}

// kernelSources extracts from linux-source-6.1 the files built out of
// tree (vicodec, and v4l2-mem2mem for kernels that lack it) into a cache
// directory shared by all architectures.
func kernelSources(ctx context.Context, cache, version, deb string) (string, error) {
	dir := filepath.Join(cache, "src", "linux-"+version)
	if _, err := os.Stat(filepath.Join(dir, "ok")); err == nil {
		return dir, nil
	}
	work, err := os.MkdirTemp(filepath.Join(cache, "tmp"), "src-")
	if err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	defer os.RemoveAll(work)
	if err := run(ctx, "", "dpkg-deb", "-x", deb, work); err != nil {
		return "", err
	}
	tarball := filepath.Join(work, "usr/src/linux-source-6.1.tar.xz")
	if err := run(ctx, "", "tar", "-xJf", tarball, "-C", work,
		"linux-source-6.1/drivers/media/test-drivers/vicodec",
		"linux-source-6.1/drivers/media/v4l2-core/v4l2-mem2mem.c"); err != nil {
		return "", err
	}
	tree := filepath.Join(work, "linux-source-6.1")
	if err := os.WriteFile(filepath.Join(tree, "ok"), nil, 0o644); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	if err := os.Rename(tree, dir); err != nil && !fileExists(filepath.Join(dir, "ok")) {
		return "", fmt.Errorf("cache: %w", err)
	}
	return dir, nil
}

// run runs a command, returning its output in the error when it fails.
func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		if len(out) > 4000 {
			out = append([]byte("…"), out[len(out)-4000:]...)
		}
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func writeFile(name string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.WriteFile(name, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

var errNoModules = errors.New("modules: build produced no .ko")
