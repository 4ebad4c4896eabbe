package pkgtest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// repoRoot is the directory holding go.mod, upwards from the test's
// working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// unavailable skips the test, or fails it in CI, where every proof must
// run.
func unavailable(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI: %s", why)
	}
	t.Skip(why)
}

// needTools calls unavailable unless every command exists; each is given
// with the Debian package that has it.
func needTools(t *testing.T, tools ...[2]string) {
	t.Helper()
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool[0]); err != nil {
			missing = append(missing, tool[0]+" (Debian package "+tool[1]+")")
		}
	}
	if len(missing) > 0 {
		unavailable(t, "missing "+strings.Join(missing, ", "))
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "needs root")
	}
}

// goCommand is the go command of the toolchain running the tests.
func goCommand() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// run runs a command with a timeout and returns its combined output; the
// error says which command failed and includes the output.
func run(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		return out.String(), &cmdError{cmd: name + " " + strings.Join(args, " "), out: out.String(), err: err}
	}
	return out.String(), nil
}

type cmdError struct {
	cmd, out string
	err      error
}

func (e *cmdError) Error() string {
	return e.cmd + ": " + e.err.Error() + "\n" + e.out
}

func (e *cmdError) Unwrap() error { return e.err }

// mustRun is run that fails the test on error.
func mustRun(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := run(t, timeout, dir, env, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
