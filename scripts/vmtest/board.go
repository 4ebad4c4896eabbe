package vmtest

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The board case boots the camd image's start-up as far as a VM can: the
// Buildroot board overlay (buildroot/board/camd/rootfs-overlay) and the
// package's init script (buildroot/package/camd/S90camd) go into the
// initramfs unchanged, camd built as BR2_PACKAGE_CAMD_OPENH264 builds it
// (cgo, the software encoder) goes to /usr/bin/camd, and a FAT image made
// here the way post-image.sh makes the card's boot partition (label
// CAMD-BOOT, camd.toml, wpa_supplicant.conf as a person writes them from a
// PC) is the VM's disk. bootcheck then plays BusyBox init: root read-only,
// /etc/init.d/rcS, checks, rcK.

// board holds the VM's stand-ins for files of Buildroot's own packages
// (initscripts' rcS and rcK, busybox's S01syslogd), which this repository
// does not carry.
//
//go:embed board/rcS board/rcK board/S01syslogd
var board embed.FS

// The board case's settings, shared by the FAT image and bootcheck's
// arguments.
const (
	boardLabel  = "CAMD-BOOT" // what post-image.sh labels the boot partition
	boardListen = "127.0.0.1:8080"
	boardWidth  = 320 // one of vivid's webcam sizes
	boardHeight = 180
	boardToken  = "camd-vm-token-0123456789abcdef"
)

// boardConfig is the camd.toml on the VM's boot partition: vivid (the
// first video device) through the software encoder at a small size, so
// that emulated arm64 keeps up; mDNS off, although the VM has no network
// device for it to reach. The token is set here, as the image's docs tell
// a person to do so that the link survives reboots on a read-only root;
// the fallback config has none, so camd makes one in its tmpfs state
// directory and bootcheck reads it from there.
var boardConfig = fmt.Sprintf(`# Written the way a person edits camd.toml on the card from a PC.
name = "camd-vm"
listen = ":8080"

[source]
kind = "v4l2"
device = "/dev/video0"
width = %d
height = %d
fps = 15

[encoder]
kind = "openh264"
bitrate = "400kbps"
gop = "1s"

[mdns]
enabled = false

[auth]
token = "%s"
`, boardWidth, boardHeight, boardToken)

// boardBadConfig has a typo a person could make: camd must not start
// with it, and S90camd must say so and fall back.
const boardBadConfig = `[source]
widht = 640
`

// boardWifi is a wpa_supplicant.conf as the example tells a person to
// write it. The VM has no Wi-Fi device: S41wpa_supplicant must find the
// file and then report that wlan0 is missing.
const boardWifi = `ctrl_interface=/var/run/wpa_supplicant
update_config=0
country=GB

network={
	ssid="camd-vmtest"
	psk="not-a-real-password"
}
`

func boardCase() vmCase {
	return vmCase{
		Name: "board-init",
		Pkg:  "./scripts/vmtest/bootcheck",
		Args: []string{"-listen", boardListen, "-size", fmt.Sprintf("%dx%d", boardWidth, boardHeight),
			"-label", boardLabel, "-bad-dir", "/boot/bad", "-token", boardToken},
		// S41wpa_supplicant waits 20 s for wlan0; the fallback config
		// runs camd at 1280x720 under emulation.
		Timeout: 420 * time.Second,
		Setup:   setupBoard,
	}
}

// setupBoard builds the image's root file system additions and the boot
// partition's FAT image.
func setupBoard(ctx context.Context, s setupEnv) (*caseSetup, error) {
	files := map[string]rootFile{}
	overlay := filepath.Join(s.Root, "buildroot", "board", "camd", "rootfs-overlay")
	err := filepath.WalkDir(overlay, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(overlay, p)
		f, err := hostFile(p)
		files["/"+filepath.ToSlash(rel)] = f
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("board overlay: %w", err)
	}
	// What camd.mk installs.
	for vm, rel := range map[string]string{
		"/etc/init.d/S90camd": "buildroot/package/camd/S90camd",
		"/etc/camd/camd.toml": "packaging/camd.toml",
	} {
		f, err := hostFile(filepath.Join(s.Root, rel))
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(vm, "/etc/init.d/") {
			f.Mode = 0o755 // $(INSTALL) -m 0755
		}
		files[vm] = f
	}
	for vm, name := range map[string]string{"/etc/init.d/rcS": "rcS", "/etc/init.d/rcK": "rcK", "/etc/init.d/S01syslogd": "S01syslogd"} {
		b, err := board.ReadFile("board/" + name)
		if err != nil {
			return nil, err
		}
		files[vm] = rootFile{Data: b, Mode: 0o755}
	}
	// Buildroot's skeleton and the user camd.mk asks for (CAMD_USERS).
	files["/etc/passwd"] = rootFile{Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/bin/sh\ncamd:x:1000:1000:camd daemon:/run/camd:/bin/false\n")}
	files["/etc/group"] = rootFile{Mode: 0o644, Data: []byte("root:x:0:\ndialout:x:18:camd\nvideo:x:28:camd\ncamd:x:1000:\n")}
	files["/var/run"] = rootFile{Link: "../run"}
	files["/var/log"] = rootFile{Link: "../tmp"}

	camd := filepath.Join(s.Dir, "camd")
	if err := buildSoftwareCamd(ctx, s.Root, s.Arch, camd); err != nil {
		return nil, err
	}
	f, err := hostFile(camd)
	if err != nil {
		return nil, err
	}
	files["/usr/bin/camd"] = f

	img := filepath.Join(s.Dir, "boot.vfat")
	if err := makeBootFAT(ctx, s.Root, img); err != nil {
		return nil, err
	}
	return &caseSetup{Root: files, Disks: []string{img}}, nil
}

// hostFile reads a file with its permission bits.
func hostFile(p string) (rootFile, error) {
	st, err := os.Stat(p)
	if err != nil {
		return rootFile{}, err
	}
	b, err := os.ReadFile(p)
	return rootFile{Data: b, Mode: uint32(st.Mode().Perm())}, err
}

// gxxPackage names the Debian package of crossPrefix+"g++".
var gxxPackage = map[string]string{"amd64": "g++-x86-64-linux-gnu (or g++ on amd64)", "arm64": "g++-aarch64-linux-gnu"}

// buildSoftwareCamd builds camd with cgo and openh264, static, as the
// image does with BR2_PACKAGE_CAMD_OPENH264 (the bundled static
// libopenh264 links with Debian's cross g++).
func buildSoftwareCamd(ctx context.Context, root, arch, out string) error {
	prefix := crossPrefix[arch]
	for _, tool := range []string{"gcc", "g++"} {
		if _, err := exec.LookPath(prefix + tool); err != nil {
			return fmt.Errorf("%s%s not found: install %s to build camd with the software encoder for %s", prefix, tool, gxxPackage[arch], arch)
		}
	}
	cmd := exec.CommandContext(ctx, goTool(), "build", "-trimpath", "-tags", "netgo,osusergo",
		"-ldflags", "-s -w -linkmode external -extldflags -static", "-o", out, "./cmd/camd")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOOS=linux", "GOARCH="+arch, "CC="+prefix+"gcc", "CXX="+prefix+"g++")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/camd with cgo for linux/%s: %w\n%s", arch, err, b)
	}
	return nil
}

// fatTools names the Debian packages of the tools makeBootFAT runs.
var fatTools = map[string]string{"mkfs.vfat": "dosfstools", "mcopy": "mtools", "mmd": "mtools"}

// makeBootFAT makes the boot partition as a person finds it after
// flashing and editing it: the files post-image.sh copies (board/camd/
// boot), camd.toml replaced by the VM's, wpa_supplicant.conf written, and
// bad/camd.toml with a typo for the fallback check.
func makeBootFAT(ctx context.Context, root, img string) error {
	dir := filepath.Dir(img)
	src := filepath.Join(dir, "boot-files")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	for name, text := range map[string]string{"camd.toml": boardConfig, "wpa_supplicant.conf": boardWifi, "bad-camd.toml": boardBadConfig} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	env := []string{"MTOOLS_SKIP_CHECK=1"}
	steps := [][]string{
		{"mkfs.vfat", "-C", "-n", boardLabel, img, "4096"},
		{"mcopy", "-i", img, filepath.Join(root, "buildroot/board/camd/boot/wpa_supplicant.conf.example"), "::wpa_supplicant.conf.example"},
		{"mcopy", "-i", img, filepath.Join(src, "camd.toml"), filepath.Join(src, "wpa_supplicant.conf"), "::"},
		{"mmd", "-i", img, "::bad"},
		{"mcopy", "-i", img, filepath.Join(src, "bad-camd.toml"), "::bad/camd.toml"},
	}
	if err := os.Remove(img); err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, st := range steps {
		if _, err := exec.LookPath(st[0]); err != nil {
			return fmt.Errorf("%s not found: install %s", st[0], fatTools[st[0]])
		}
		cmd := exec.CommandContext(ctx, st[0], st[1:]...)
		cmd.Env = append(os.Environ(), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(st, " "), err, b)
		}
	}
	return nil
}
