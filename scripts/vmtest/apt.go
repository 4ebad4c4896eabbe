package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// apt runs apt-get and apt-cache against a private state directory: its
// own package lists (for every architecture the VMs need) and its own
// sources list, made from the Debian mirrors the machine already uses. The
// system's dpkg database and architectures are left alone, and no root is
// needed.
type apt struct {
	dir      string   // state root
	hostArch string   // dpkg --print-architecture
	arches   []string // index architectures: host plus the VMs'
	log      func(format string, args ...any)
}

// refreshAge is how old the private indexes may get before an update.
const refreshAge = 7 * 24 * time.Hour

func newApt(dir, hostArch string, vmArches []string, log func(string, ...any)) *apt {
	arches := []string{hostArch}
	for _, a := range vmArches {
		if !slices.Contains(arches, a) {
			arches = append(arches, a)
		}
	}
	return &apt{dir: dir, hostArch: hostArch, arches: arches, log: log}
}

// options points apt at the private state; everything else (proxies,
// keyrings) comes from the system's configuration.
func (a *apt) options() []string {
	o := []string{
		"-o", "Dir::State=" + filepath.Join(a.dir, "state"),
		"-o", "Dir::State::Lists=" + filepath.Join(a.dir, "lists"),
		"-o", "Dir::State::status=" + filepath.Join(a.dir, "status"),
		"-o", "Dir::Cache=" + filepath.Join(a.dir, "cache"),
		"-o", "Dir::Cache::Archives=" + filepath.Join(a.dir, "archives"),
		"-o", "Dir::Etc::SourceList=" + filepath.Join(a.dir, "sources.list"),
		"-o", "Dir::Etc::SourceParts=" + filepath.Join(a.dir, "sources.list.d"),
		"-o", "APT::Architecture=" + a.hostArch,
		"-o", "Acquire::Languages=none",
		"-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false",
	}
	o = append(o, "-o", "APT::Architectures=")
	for _, arch := range a.arches {
		o = append(o, "-o", "APT::Architectures::="+arch)
	}
	if os.Geteuid() == 0 {
		// The _apt sandbox user cannot write into a private cache.
		o = append(o, "-o", "APT::Sandbox::User=root")
	}
	return o
}

func (a *apt) run(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, append(a.options(), args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// ensure creates the state layout and refreshes the indexes when they are
// missing, older than refreshAge, or force is set. A failed refresh with
// usable old indexes is logged, not fatal.
func (a *apt) ensure(ctx context.Context, force bool) error {
	for _, d := range []string{"state", "lists/partial", "cache", "archives/partial", "sources.list.d"} {
		if err := os.MkdirAll(filepath.Join(a.dir, d), 0o755); err != nil {
			return fmt.Errorf("apt state: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(a.dir, "status"), nil, 0o644); err != nil {
		return fmt.Errorf("apt state: %w", err)
	}
	stamp := filepath.Join(a.dir, "updated")
	st, err := os.Stat(stamp)
	fresh := err == nil && time.Since(st.ModTime()) < refreshAge && !force
	if fresh && a.sourcesMatch() {
		return nil
	}
	sources, err := a.systemSources(ctx)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(a.dir, "sources.list"), []byte(sources), 0o644); err != nil {
		return fmt.Errorf("apt state: %w", err)
	}
	if err := os.WriteFile(filepath.Join(a.dir, "arches"), []byte(strings.Join(a.arches, ",")), 0o644); err != nil {
		return fmt.Errorf("apt state: %w", err)
	}
	start := time.Now()
	if _, err := a.run(ctx, a.dir, "apt-get", "-q", "update"); err != nil {
		if st != nil {
			a.log("apt-get update failed, using the indexes from %s: %v", st.ModTime().Format(time.DateOnly), err)
			return nil
		}
		return err
	}
	a.log("apt: indexes for %s updated in %.1fs", strings.Join(a.arches, ","), time.Since(start).Seconds())
	return os.WriteFile(stamp, nil, 0o644)
}

// sourcesMatch reports whether the indexes were fetched for the same
// architectures as now.
func (a *apt) sourcesMatch() bool {
	b, err := os.ReadFile(filepath.Join(a.dir, "arches"))
	return err == nil && string(b) == strings.Join(a.arches, ",")
}

// policyLine matches a repository line of apt-cache policy, e.g.
// "        500 http://deb.debian.org/debian bookworm/main amd64 Packages".
var policyLine = regexp.MustCompile(`^\s+-?\d+\s+(\S+://\S+)\s+(\S+)/(\S+)\s+\S+\s+Packages$`)

// systemSources writes a sources.list with the repositories from which the
// machine's apt would install the packages the VMs need: Debian's mirrors
// as configured, and nothing else.
func (a *apt) systemSources(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "apt-cache", "policy", "linux-image-"+a.hostArch, "linux-source-6.1", "v4l2loopback-dkms", "busybox-static")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache policy: %w", err)
	}
	signed := ""
	if _, err := os.Stat("/usr/share/keyrings/debian-archive-keyring.gpg"); err == nil {
		signed = " signed-by=/usr/share/keyrings/debian-archive-keyring.gpg"
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := policyLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		l := fmt.Sprintf("deb [arch=%s%s] %s %s %s", strings.Join(a.arches, ","), signed, m[1], m[2], m[3])
		if !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "", errors.New("apt-cache policy: no repository offers linux-source-6.1 or linux-image; the VM tests need Debian 12 (bookworm) mirrors in the apt sources")
	}
	return strings.Join(lines, "\n") + "\n", nil
}

// candidate returns the version apt would pick for pkg (e.g.
// "linux-image-arm64:arm64").
func (a *apt) candidate(ctx context.Context, pkg string) (string, error) {
	out, err := a.run(ctx, a.dir, "apt-cache", "policy", pkg)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Candidate: "); ok && v != "(none)" {
			return v, nil
		}
	}
	return "", fmt.Errorf("apt-cache policy %s: no candidate version (is the package in the configured Debian release?)", pkg)
}

// depends returns the Depends field of pkg at version.
func (a *apt) depends(ctx context.Context, pkg, version string) (string, error) {
	out, err := a.run(ctx, a.dir, "apt-cache", "show", pkg+"="+version)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "Depends: "); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("apt-cache show %s=%s: no Depends field", pkg, version)
}

// download fetches "name:arch=version" packages into the debs directory
// unless they are there already, and returns their paths in order.
func (a *apt) download(ctx context.Context, pkgs ...string) ([]string, error) {
	debs := filepath.Join(a.dir, "..", "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return nil, fmt.Errorf("debs: %w", err)
	}
	paths := make([]string, len(pkgs))
	var missing []string
	for i, p := range pkgs {
		paths[i] = filepath.Join(debs, debName(p))
		if _, err := os.Stat(paths[i]); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		start := time.Now()
		if _, err := a.run(ctx, debs, "apt-get", append([]string{"-q", "download"}, missing...)...); err != nil {
			return nil, err
		}
		a.log("apt: downloaded %d packages in %.1fs", len(missing), time.Since(start).Seconds())
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("apt-get download: %s not where expected: %w", filepath.Base(p), err)
		}
	}
	return paths, nil
}

// debName is the file name apt-get download gives "name:arch=version":
// name_version_arch.deb with the epoch colon escaped.
func debName(spec string) string {
	nameArch, version, _ := strings.Cut(spec, "=")
	name, arch, _ := strings.Cut(nameArch, ":")
	if arch == "" {
		arch = "all"
	}
	return name + "_" + strings.ReplaceAll(version, ":", "%3a") + "_" + arch + ".deb"
}
