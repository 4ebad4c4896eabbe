package pkgtest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// shellShebang matches the first line of a POSIX shell, bash, dash or
// BusyBox ash script.
var shellShebang = regexp.MustCompile(`^#!\s*/(usr/)?bin/(env\s+)?(sh|bash|dash|ash)(\s|$)`)

// shellScripts lists the repository's shell scripts, found by their first
// line: tracked files and untracked ones git does not ignore (so build
// outputs under dist/ are left out).
func shellScripts(t *testing.T, root string) []string {
	t.Helper()
	out, err := run(t, time.Minute, root, nil, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		t.Fatalf("listing the repository's files: %v", err)
	}
	var scripts []string
	for _, name := range strings.Split(out, "\x00") {
		if name == "" {
			continue
		}
		f, err := os.Open(filepath.Join(root, name))
		if err != nil {
			continue // deleted in the working tree
		}
		line, _ := bufio.NewReader(f).ReadString('\n')
		f.Close()
		if shellShebang.MatchString(line) {
			scripts = append(scripts, name)
		}
	}
	return scripts
}

// TestShellcheck runs shellcheck (Debian package shellcheck) on every
// shell script in the repository and fails on any warning or error.
func TestShellcheck(t *testing.T) {
	root := repoRoot(t)
	if _, err := exec.LookPath("git"); err != nil {
		unavailable(t, "git is missing")
	}
	needTools(t, [2]string{"shellcheck", "shellcheck"})
	scripts := shellScripts(t, root)
	for _, want := range []string{"buildroot/package/camd/S90camd", "buildroot/build-image.sh", "packaging/postinst", "scripts/setup"} {
		found := false
		for _, s := range scripts {
			found = found || s == want
		}
		if !found {
			t.Errorf("%s was not found as a shell script", want)
		}
	}
	args := append([]string{"--severity=warning", "--format=gcc", "--external-sources"}, scripts...)
	out, err := run(t, 2*time.Minute, root, nil, "shellcheck", args...)
	if err != nil || out != "" {
		t.Fatalf("shellcheck found problems in %d scripts:\n%s", len(scripts), out)
	}
	t.Logf("shellcheck: %d scripts clean", len(scripts))
}
