package serial

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	bug "go.bug.st/serial"
)

// No test may open or probe a real device: ports are opened only below the
// temporary directory (the socat links), and listing goes to a fake.
func init() {
	real := openPort
	openPort = func(path string, m *bug.Mode) (Port, error) {
		if !strings.HasPrefix(path, os.TempDir()+"/") {
			return nil, fmt.Errorf("test tried to open %s, outside %s", path, os.TempDir())
		}
		return real(path, m)
	}
	listPorts = func() ([]PortInfo, error) {
		return nil, errors.New("test tried to list the real ports")
	}
}

// checkGoroutines fails the test if goroutines started during it are still
// running when its cleanups are done. Call it first.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				var b bytes.Buffer
				pprof.Lookup("goroutine").WriteTo(&b, 1)
				t.Errorf("goroutines: %d at the end, %d before. Still running:\n%s", runtime.NumGoroutine(), before, b.String())
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// recorder collects a Bridge's callbacks.
type recorder struct {
	mu      sync.Mutex
	data    [][]byte
	status  []Status
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) onData(p []byte) {
	r.mu.Lock()
	r.data = append(r.data, p)
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) onStatus(s Status) {
	r.mu.Lock()
	r.status = append(r.status, s)
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) poke() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until cond holds (checked under the lock on every change).
func (r *recorder) waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-deadline.C:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("%s: not within %v; data %q, status %+v", what, timeout, r.data, r.status)
		}
	}
}

func (r *recorder) joined() []byte { return bytes.Join(r.data, nil) }

func (r *recorder) last() Status {
	if len(r.status) == 0 {
		return Status{}
	}
	return r.status[len(r.status)-1]
}

// runBridge starts b.Run and stops it at the end of the test.
func runBridge(t *testing.T, b *Bridge) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5 s of cancel")
		}
	})
}

func connected(r *recorder) func() bool { return func() bool { return r.last().Connected } }
