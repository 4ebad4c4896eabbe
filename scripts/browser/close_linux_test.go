package browser

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Close ends every Chromium process, removes the profile and leaves no
// goroutine behind.
func TestCloseCleansUp(t *testing.T) {
	requireChromium(t)
	before := runtime.NumGoroutine()
	ctx := testContext(t, 20*time.Second)
	b, err := Launch(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.NewPage(ctx)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, "data:text/html,<p>hello</p>"); err != nil {
		b.Close()
		t.Fatal(err)
	}
	pid, dir := b.cmd.Process.Pid, b.dir
	if n := len(leftovers(pid, dir)); n < 3 {
		t.Errorf("%d processes found while running; the check cannot see Chromium", n)
	}

	start := time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close took %v", time.Since(start))
	if pids := leftovers(pid, dir); len(pids) > 0 {
		t.Errorf("processes left after Close: %v", pids)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("profile %s still there: %v", dir, err)
	}
	if err := p.Eval(ctx, "1", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Eval after Close = %v, want ErrClosed", err)
	}
	if _, err := b.NewPage(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("NewPage after Close = %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	checkGoroutines(t, before)
}

// A browser that dies fails the calls in flight with ErrClosed and the exit
// status, and Close still cleans up.
func TestBrowserDies(t *testing.T) {
	requireChromium(t)
	before := runtime.NumGoroutine()
	ctx := testContext(t, 20*time.Second)
	b, err := Launch(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.NewPage(ctx)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	go func() { waiting <- p.Eval(context.Background(), "new Promise(() => {})", nil) }()
	time.Sleep(100 * time.Millisecond)
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waiting:
		if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "killed") {
			t.Errorf("Eval in flight when Chromium died = %v, want ErrClosed naming the signal", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Eval in flight did not return when Chromium died")
	}
	pid, dir := b.cmd.Process.Pid, b.dir
	if err := b.Close(); err != nil {
		t.Errorf("Close after a crash = %v", err)
	}
	if pids := leftovers(pid, dir); len(pids) > 0 {
		t.Errorf("processes left after Close: %v", pids)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("profile %s still there: %v", dir, err)
	}
	checkGoroutines(t, before)
}

// checkGoroutines waits a little for goroutines to end, then fails t with
// their stacks if more than before are left.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf)
	}
}
