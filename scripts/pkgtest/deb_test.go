package pkgtest

import (
	"debug/elf"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if debBuild.dir != "" {
		os.RemoveAll(debBuild.dir)
	}
	os.Exit(code)
}

// debBuild is the package for this machine's architecture, built once by
// `make deb`'s script for all the tests that need it.
var debBuild struct {
	once           sync.Once
	dir, path, out string
	took           time.Duration
	err            error
}

// buildDeb builds the package (or fails the test when it cannot) and
// returns its path.
func buildDeb(t *testing.T) string {
	t.Helper()
	needTools(t, [2]string{"dpkg-deb", "dpkg"}, [2]string{"git", "git"})
	root := repoRoot(t)
	// build-deb.sh ships the license as the copyright file
	// (CAMD_LICENSE_FILE, default LICENSE).
	if lic := os.Getenv("CAMD_LICENSE_FILE"); lic == "" && !fileExists(filepath.Join(root, "LICENSE")) {
		t.Fatal("no LICENSE at the repository root: the package ships it as its copyright file")
	}
	debBuild.once.Do(func() {
		arch := strings.TrimSpace(mustRun(t, time.Minute, "", nil, "dpkg", "--print-architecture"))
		debBuild.dir, debBuild.err = os.MkdirTemp("", "camd-deb-")
		if debBuild.err != nil {
			return
		}
		env := append(os.Environ(), "CAMD_DEB_ARCHES="+arch, "DIST="+debBuild.dir, "GO="+goCommand())
		start := time.Now()
		debBuild.out, debBuild.err = run(t, 15*time.Minute, root, env, filepath.Join(root, "packaging", "build-deb.sh"))
		debBuild.took = time.Since(start)
		if debBuild.err != nil {
			return
		}
		debs, _ := filepath.Glob(filepath.Join(debBuild.dir, "camd_*_"+arch+".deb"))
		if len(debs) != 1 {
			debBuild.err = &cmdError{cmd: "build-deb.sh", out: debBuild.out, err: os.ErrNotExist}
			return
		}
		debBuild.path = debs[0]
	})
	if debBuild.err != nil {
		t.Fatalf("building the package: %v", debBuild.err)
	}
	return debBuild.path
}

var documented = regexp.MustCompile("(?m)^\\| `(/[^`]+)` \\|")

// documentedPaths lists the paths packaging/README.md's table says the
// package installs.
func documentedPaths(t *testing.T) []string {
	t.Helper()
	text := readText(filepath.Join(repoRoot(t), "packaging", "README.md"))
	_, table, ok := strings.Cut(text, "## What lands where")
	if !ok {
		t.Fatal("packaging/README.md has no 'What lands where' section")
	}
	var paths []string
	for _, m := range documented.FindAllStringSubmatch(table, -1) {
		paths = append(paths, m[1])
	}
	if len(paths) < 5 {
		t.Fatalf("packaging/README.md's table lists %d paths", len(paths))
	}
	return paths
}

// TestDebContents checks the package without installing it: the files
// (exactly those packaging/README.md lists, plus directories), the
// control fields, the conffile, the maintainer scripts, and that the
// binary is static.
func TestDebContents(t *testing.T) {
	deb := buildDeb(t)
	st, _ := os.Stat(deb)
	t.Logf("%s: %.1f MB, built in %v", filepath.Base(deb), float64(st.Size())/(1<<20), debBuild.took.Round(time.Second))

	var files []string
	for _, line := range strings.Split(mustRun(t, time.Minute, "", nil, "dpkg-deb", "--contents", deb), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 6 || strings.HasPrefix(fields[0], "d") {
			continue
		}
		files = append(files, strings.TrimPrefix(fields[5], "."))
	}
	want := documentedPaths(t)
	var wantFiles []string
	for _, p := range want {
		if p != "/var/lib/camd" {
			wantFiles = append(wantFiles, p)
		}
	}
	sort.Strings(files)
	sort.Strings(wantFiles)
	if !slices.Equal(files, wantFiles) {
		t.Errorf("the package holds\n  %v\npackaging/README.md documents\n  %v", files, wantFiles)
	}

	arch := strings.TrimSpace(mustRun(t, time.Minute, "", nil, "dpkg", "--print-architecture"))
	for field, want := range map[string]string{"Package": "camd", "Architecture": arch, "Depends": "adduser", "Section": "video"} {
		if got := strings.TrimSpace(mustRun(t, time.Minute, "", nil, "dpkg-deb", "--field", deb, field)); got != want {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
	if v := strings.TrimSpace(mustRun(t, time.Minute, "", nil, "dpkg-deb", "--field", deb, "Version")); !regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`).MatchString(v) {
		t.Errorf("Version %q is not a Debian upstream version", v)
	}

	ctrl := t.TempDir()
	mustRun(t, time.Minute, "", nil, "dpkg-deb", "--control", deb, ctrl)
	if got := readText(filepath.Join(ctrl, "conffiles")); got != "/etc/camd/camd.toml\n" {
		t.Errorf("conffiles: %q, want /etc/camd/camd.toml", got)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if st, err := os.Stat(filepath.Join(ctrl, s)); err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("maintainer script %s missing or not executable (%v)", s, err)
		}
	}

	tree := t.TempDir()
	mustRun(t, time.Minute, "", nil, "dpkg-deb", "--extract", deb, tree)
	f, err := elf.Open(filepath.Join(tree, "usr", "bin", "camd"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("/usr/bin/camd is dynamically linked; the package ships a static binary")
		}
	}
}

// TestDebUnit checks the packaged unit with the packaged binary:
// systemd-analyze verify must be silent, and systemd-analyze security
// must rate it below 3 (2026-11: 1.9).
func TestDebUnit(t *testing.T) {
	needTools(t, [2]string{"systemd-analyze", "systemd"})
	deb := buildDeb(t)
	root := t.TempDir()
	// systemd resolves the unit's dependencies (multi-user.target, …) in
	// the root: give it this machine's units, then the package's files.
	units := filepath.Join(root, "usr", "lib", "systemd", "system")
	if err := os.MkdirAll(units, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"/lib/systemd/system", "/usr/lib/systemd/system"} {
		if fileExists(dir) {
			mustRun(t, time.Minute, "", nil, "cp", "-a", dir+"/.", units)
			break
		}
	}
	mustRun(t, time.Minute, "", nil, "dpkg-deb", "--extract", deb, root)
	out, err := run(t, time.Minute, "", nil, "systemd-analyze", "verify", "--root="+root, "camd.service")
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify camd.service: %v\n%s", err, out)
	}
	out, err = run(t, time.Minute, "", nil, "systemd-analyze", "security", "--offline=yes", "--root="+root, "camd.service")
	m := regexp.MustCompile(`Overall exposure level for camd\.service: ([0-9.]+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	if level, _ := strconv.ParseFloat(m[1], 64); level >= 3 {
		t.Errorf("exposure level %s, want below 3:\n%s", m[1], out)
	}
	t.Logf("systemd-analyze security: exposure %s", m[1])
}
