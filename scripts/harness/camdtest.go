package harness

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// BuildForTests builds camd into a temporary directory for a test binary's
// TestMain; call the returned cleanup when the tests are done.
func BuildForTests() (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "camd-test-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	root, err := ModuleRoot()
	if err != nil {
		cleanup()
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if bin, err = Build(ctx, root, dir); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("harness: %w", err)
	}
	return bin, cleanup, nil
}

// StartTest starts camd for one test (Start) and stops it when the test
// ends, requiring a clean exit on SIGTERM; on failure the log is printed.
func StartTest(t testing.TB, bin string, args ...string) *Camd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Start(ctx, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(10 * time.Second); err != nil {
			t.Errorf("camd stop: %v\n%s", err, c.Logs())
		}
		if t.Failed() {
			t.Logf("camd log:\n%s", c.Logs())
		}
	})
	return c
}
