package browser

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestFindEnv(t *testing.T) {
	t.Setenv(EnvPath, "/nonexistent/chromium")
	if _, err := Find(); err == nil || !strings.Contains(err.Error(), EnvPath) {
		t.Errorf("Find with a missing %s: err = %v, want one naming it", EnvPath, err)
	}
	f, err := exec.LookPath("false")
	if err != nil {
		t.Skip(err)
	}
	t.Setenv(EnvPath, f)
	if got, err := Find(); err != nil || got != f {
		t.Errorf("Find = %q, %v; want %q", got, err, f)
	}
}

func TestNotFoundNamesTheFix(t *testing.T) {
	if !strings.Contains(ErrNotFound.Error(), "apt-get install chromium") {
		t.Errorf("ErrNotFound = %q, want the install hint", ErrNotFound)
	}
}

// A binary that exits at once fails Launch with its exit status, quickly,
// and leaves no profile behind.
func TestLaunchExitsEarly(t *testing.T) {
	f, err := exec.LookPath("false")
	if err != nil {
		t.Skip(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	start := time.Now()
	_, err = Launch(context.Background(), Options{Path: f})
	if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "exit status 1") {
		t.Errorf("Launch(false) = %v, want ErrClosed naming exit status 1", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Launch(false) took %v", d)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("left in TMPDIR: %v", ents)
	}
}

func TestLaunchMissingBinary(t *testing.T) {
	if _, err := Launch(context.Background(), Options{Path: "/nonexistent/chromium"}); err == nil {
		t.Error("Launch of a missing binary succeeded")
	}
}
