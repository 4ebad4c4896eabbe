package capture

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camd-project/camd/capture/h264"
)

type frameLog struct {
	mu     sync.Mutex
	frames []*Frame
}

func (l *frameLog) add(f *Frame) { l.mu.Lock(); l.frames = append(l.frames, f); l.mu.Unlock() }
func (l *frameLog) n() int       { l.mu.Lock(); defer l.mu.Unlock(); return len(l.frames) }

func waitN(t *testing.T, l *frameLog, n int) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); l.n() < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("got %d frames, want %d", l.n(), n)
		}
	}
}

// TestExecH264Restarts: a command that writes the fixture and exits is
// read to the end, reaped and started again with backoff.
func TestExecH264Restarts(t *testing.T) {
	e, err := NewExec(ExecOptions{Command: "cat testdata/testsrc-320x240.h264", MinBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var l frameLog
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, l.add) }()
	waitN(t, &l, 100) // more than one run of the 60-frame file
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if st := e.Status(); st.Restarts < 1 || st.Running {
		t.Fatalf("status %+v: want restarts and nothing running", st)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.frames[0].Keyframe || !h264.Contains(l.frames[0].Planes[0], h264.TypeSPS) {
		t.Fatal("first frame is not a keyframe with SPS")
	}
	for i, f := range l.frames {
		if f.Seq != uint64(i) {
			t.Fatalf("frame %d has seq %d: numbering must go on across restarts", i, f.Seq)
		}
	}
}

// TestExecRawFrames reads I420 frames of a declared size.
func TestExecRawFrames(t *testing.T) {
	e, err := NewExec(ExecOptions{Command: "head -c 1152000 /dev/zero", Format: I420, Width: 640, Height: 480, MinBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var l frameLog
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, l.add) }()
	waitN(t, &l, 2) // 1152000 bytes = two 640x480 I420 frames
	cancel()
	<-done
	f := l.frames[0]
	if l.n() != 2 || f.Format != I420 || len(f.Planes) != 3 || len(f.Planes[0]) != 640*480 || len(f.Planes[1]) != 320*240 || f.Strides[1] != 320 {
		t.Fatalf("%d frames; first %v %dx%d planes %d", l.n(), f.Format, f.Width, f.Height, len(f.Planes))
	}
}

// TestExecStopsItsChildren: a long-running pipeline is stopped, with its
// process group, when the source stops; nothing is left running.
func TestExecStopsItsChildren(t *testing.T) {
	// The pipeline's children (sleep, cat) must go too, not just the shell.
	mark := "sleep 31.717"
	e, err := NewExec(ExecOptions{Command: mark + " | cat", StopTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, func(*Frame) {}) }()
	for end := time.Now().Add(5 * time.Second); !e.Status().Running; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("command never started")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if out, _ := exec.Command("pgrep", "-f", mark).Output(); len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("processes left running: %s", out)
	}
}

func TestExecBadOptions(t *testing.T) {
	for _, o := range []ExecOptions{{}, {Command: "x", Format: MJPEG}, {Command: "x", Width: 641, Height: 480}} {
		if _, err := NewExec(o); err == nil {
			t.Errorf("NewExec(%+v) accepted", o)
		}
	}
	// A command that fails reports its stderr.
	e, _ := NewExec(ExecOptions{Command: "echo no camera here >&2; exit 3", MinBackoff: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, func(*Frame) {}) }()
	for end := time.Now().Add(5 * time.Second); e.Status().Restarts == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("no restart recorded")
		}
	}
	cancel()
	<-done
	if st := e.Status(); !strings.Contains(st.LastErr, "no camera here") || !strings.Contains(st.LastErr, "exit status 3") {
		t.Fatalf("last error %q", st.LastErr)
	}
}
