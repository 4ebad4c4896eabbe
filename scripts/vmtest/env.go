package vmtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// hostArch is the Debian architecture of this machine.
func hostArch() (string, error) {
	out, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		return "", fmt.Errorf("dpkg --print-architecture: %w (the VM tests need a Debian host)", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// missingTools lists the Debian packages whose commands are missing to
// build and boot the VMs for arches on host.
func missingTools(host string, arches []string) []string {
	need := [][2]string{
		{"apt-get", "apt"}, {"dpkg-deb", "dpkg"}, {"tar", "tar"}, {"xz", "xz-utils"},
		{"make", "make"},
	}
	for _, a := range arches {
		q, ok := qemuBinary[a]
		if !ok {
			return []string{"support for architecture " + a + " (amd64 or arm64)"}
		}
		need = append(need, q)
		// Debian's kernel headers name gcc-12 as the compiler.
		if a == host {
			need = append(need, [2]string{"gcc-12", "gcc-12"})
		} else {
			need = append(need, [2]string{crossPrefix[a] + "gcc-12", crossPackage[a]})
		}
	}
	var missing []string
	for _, n := range need {
		if _, err := exec.LookPath(n[0]); err != nil && !strings.Contains(strings.Join(missing, " "), n[1]) {
			missing = append(missing, n[0]+" ("+n[1]+")")
		}
	}
	return missing
}

// moduleRoot finds the directory holding go.mod, upwards from the working
// directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("vmtest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// cacheDir is CAMD_VMTEST_CACHE or ${XDG_CACHE_HOME:-~/.cache}/camd-vmtest.
func cacheDir() (string, error) {
	dir := os.Getenv("CAMD_VMTEST_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("cache directory: %w", err)
		}
		dir = filepath.Join(base, "camd-vmtest")
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return "", fmt.Errorf("cache directory: %w", err)
	}
	return dir, nil
}

// goTool is the go command of the toolchain running the test.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
