package pkgtest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDebInstall installs the package with dpkg in a fresh Debian chroot
// (debootstrap's minbase plus adduser, the package's one dependency) and
// checks what an install promises: the files packaging/README.md lists,
// the camd user in video and dialout owning the state directory, the
// service enabled, `camd check-config /etc/camd/camd.toml` passing, a
// changed conffile surviving a reinstall, and remove and purge cleaning
// up.
func TestDebInstall(t *testing.T) {
	needRoot(t)
	needTools(t, [2]string{"debootstrap", "debootstrap"}, [2]string{"chroot", "coreutils"}, [2]string{"tar", "tar"})
	deb := buildDeb(t)
	base := baseSystem(t)

	start := time.Now()
	root := chrootDir(t)
	mustRun(t, 5*time.Minute, "", nil, "tar", "-C", root, "-xf", base)
	unpacked := time.Since(start)
	data, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "tmp", "camd.deb"), string(data))
	in := func(args ...string) string {
		t.Helper()
		out, err := inChroot(t, root, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	in("dpkg", "--install", "/tmp/camd.deb")
	t.Logf("fresh chroot in %v, installed in %v", unpacked.Round(time.Millisecond), (time.Since(start) - unpacked).Round(time.Millisecond))

	for _, p := range documentedPaths(t) {
		if !fileExists(filepath.Join(root, p)) {
			t.Errorf("%s is not installed", p)
		}
	}
	if got := in("dpkg-query", "--show", "--showformat=${Conffiles}", "camd"); !strings.Contains(got, "/etc/camd/camd.toml ") {
		t.Errorf("dpkg does not know /etc/camd/camd.toml as a conffile: %q", got)
	}
	if out := in("camd", "check-config", "/etc/camd/camd.toml"); !strings.Contains(out, "/etc/camd/camd.toml: ok") {
		t.Errorf("camd check-config: %s", out)
	}
	version := strings.TrimSpace(mustRun(t, time.Minute, "", nil, "dpkg-deb", "--field", deb, "Version"))
	if got := strings.TrimSpace(in("camd", "version")); got != "camd "+version {
		t.Errorf("camd version: %q, want %q", got, "camd "+version)
	}

	// The system user, its groups and its state directory.
	pw := strings.Split(strings.TrimSpace(in("getent", "passwd", "camd")), ":")
	if len(pw) != 7 {
		t.Fatalf("getent passwd camd: %v", pw)
	}
	uid, _ := strconv.Atoi(pw[2])
	gid, _ := strconv.Atoi(pw[3])
	if uid >= 1000 || pw[5] != "/var/lib/camd" || !strings.HasSuffix(pw[6], "nologin") {
		t.Errorf("camd is not a system user with home /var/lib/camd and no shell: %v", pw)
	}
	groups := strings.Fields(in("id", "--groups", "--name", "camd"))
	sort.Strings(groups)
	if strings.Join(groups, " ") != "camd dialout video" {
		t.Errorf("camd's groups: %v, want camd dialout video", groups)
	}
	st, err := os.Stat(filepath.Join(root, "var", "lib", "camd"))
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Sys().(*syscall.Stat_t); int(s.Uid) != uid || int(s.Gid) != gid || st.Mode().Perm() != 0o750 {
		t.Errorf("/var/lib/camd: owner %d:%d mode %v, want %d:%d 0750", s.Uid, s.Gid, st.Mode().Perm(), uid, gid)
	}
	wants := filepath.Join(root, "etc", "systemd", "system", "multi-user.target.wants", "camd.service")
	if fileExists(filepath.Join(root, "usr", "bin", "deb-systemd-helper")) {
		if _, err := os.Lstat(wants); err != nil {
			t.Errorf("the service is not enabled: %v", err)
		}
	}

	// A changed conffile survives a reinstall.
	conf := filepath.Join(root, "etc", "camd", "camd.toml")
	changed := strings.Replace(readText(conf), `name = "camd"`, `name = "porch"`, 1)
	writeFile(t, conf, changed)
	in("dpkg", "--install", "/tmp/camd.deb")
	if readText(conf) != changed {
		t.Error("reinstalling replaced the changed /etc/camd/camd.toml")
	}

	in("dpkg", "--remove", "camd")
	if fileExists(filepath.Join(root, "usr", "bin", "camd")) || !fileExists(conf) {
		t.Error("remove: want /usr/bin/camd gone and the conffile kept")
	}
	// As with debhelper, a removed package stays enabled, so that
	// installing it again restores that; purge forgets it.
	in("dpkg", "--purge", "camd")
	for _, p := range []string{"/etc/camd/camd.toml", "/var/lib/camd"} {
		if fileExists(filepath.Join(root, p)) {
			t.Errorf("purge left %s", p)
		}
	}
	if _, err := os.Lstat(wants); err == nil {
		t.Error("purge: the service is still enabled")
	}
}

// inChroot runs a command in the chroot with a clean environment.
func inChroot(t *testing.T, root string, args ...string) (string, error) {
	t.Helper()
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8", "HOME=/root"}
	return run(t, 5*time.Minute, "", env, "chroot", append([]string{root}, args...)...)
}

// chrootDir makes a directory for a chroot and removes it after the test,
// but only once nothing is mounted under it: removing a tree with /dev or
// /proc bound into it would reach the host's.
func chrootDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "camd-chroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unmountUnder(dir); err != nil {
			t.Errorf("%v; leaving %s in place", err, dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

// unmountUnder detaches every mount at or below dir, deepest first, and
// reports whether any remains.
func unmountUnder(dir string) error {
	mounts := func() []string {
		f, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			return nil
		}
		defer f.Close()
		var out []string
		s := bufio.NewScanner(f)
		for s.Scan() {
			fields := strings.Fields(s.Text())
			if len(fields) < 5 {
				continue
			}
			p := strings.ReplaceAll(fields[4], `\040`, " ")
			if p == dir || strings.HasPrefix(p, dir+"/") {
				out = append(out, p)
			}
		}
		sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
		return out
	}
	for _, p := range mounts() {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
	}
	if left := mounts(); len(left) > 0 {
		return fmt.Errorf("still mounted: %v", left)
	}
	return nil
}

// baseSystem returns a tar of a minimal Debian system (debootstrap
// minbase with adduser) of this machine's release and architecture,
// making it on the first run from the mirror apt uses and caching it.
func baseSystem(t *testing.T) string {
	t.Helper()
	codename, mirror, err := aptMirror()
	if err != nil {
		unavailable(t, err.Error())
	}
	arch := strings.TrimSpace(mustRun(t, time.Minute, "", nil, "dpkg", "--print-architecture"))
	cache := os.Getenv("CAMD_PKGTEST_CACHE")
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(dir, "camd-pkgtest")
	}
	tarball := filepath.Join(cache, fmt.Sprintf("%s-%s-minbase-adduser.tar", codename, arch))
	if fileExists(tarball) {
		return tarball
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	work := chrootDir(t)
	rootfs := filepath.Join(work, "root")
	start := time.Now()
	mustRun(t, 15*time.Minute, "", nil, "debootstrap", "--variant=minbase", "--include=adduser",
		"--arch="+arch, codename, rootfs, mirror)
	if err := unmountUnder(rootfs); err != nil {
		t.Fatal(err)
	}
	part := tarball + ".part"
	mustRun(t, 5*time.Minute, "", nil, "tar", "-C", rootfs, "--one-file-system", "-cf", part, ".")
	if err := os.Rename(part, tarball); err != nil {
		t.Fatal(err)
	}
	t.Logf("debootstrap %s %s from %s: %v (cached in %s)", codename, arch, mirror, time.Since(start).Round(time.Second), tarball)
	return tarball
}
