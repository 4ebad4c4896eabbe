// Command camdcheck runs the real camd binary in the VM against a
// v4l2loopback node fed with H.264, which is how a UVC camera with an
// H.264 output looks: camd (-source v4l2 -encoder passthrough) must serve
// the stream, and a WHEP viewer on loopback must receive the fed access
// units, starting with an IDR. It prints PASS/FAIL lines, or one SKIP line
// while camd has no V4L2 source, and exits 1 on any failure. With
// -source file camd loops the stream file itself (no V4L2), which checks
// the binary, WebRTC on the VM's loopback and this viewer on their own.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/hw/v4l2"
	"github.com/camd-project/camd/scripts/vmtest/vmcheck"
	"github.com/camd-project/camd/stream/auth"
	"github.com/camd-project/camd/stream/whepclient"
)

func main() {
	camd := flag.String("camd", "/bin/camd", "camd binary")
	device := flag.String("device", "/dev/video40", "v4l2loopback node")
	file := flag.String("stream", "/data/testsrc-320x240.h264", "H.264 Annex-B stream to feed")
	listen := flag.String("listen", "127.0.0.1:8080", "camd's listen address")
	want := flag.Int("units", 45, "access units the viewer must receive")
	timeout := flag.Duration("timeout", 90*time.Second, "limit for the whole check")
	source := flag.String("source", "v4l2", "camd's source: v4l2 (fed loopback) or file")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c := &check{name: "camd-" + *source}
	args := []string{"-source", "file", "-file", *file}
	if *source == "v4l2" {
		args = []string{"-source", "v4l2", "-device", *device, "-encoder", "passthrough"}
	}
	c.run(ctx, *camd, *device, *file, *listen, *want, args)
	if c.Failed {
		os.Exit(1)
	}
}

type check struct {
	name string // camd-v4l2 or camd-file
	vmcheck.Report
	token string // camd's access token
}

func (c *check) run(ctx context.Context, camdBin, device, file, listen string, want int, camdArgs []string) {
	data, err := os.ReadFile(file)
	if err != nil {
		c.Fail("camd-feed", "%v", err)
		return
	}
	aus := h264.SplitAccessUnits(data)
	width, height, err := streamSize(aus)
	if err != nil {
		c.Fail("camd-feed", "%s: %v", file, err)
		return
	}
	fed := func() int { return 0 }
	if c.name == "camd-v4l2" {
		feedCtx, stopFeed := context.WithCancel(ctx)
		defer stopFeed()
		if fed, err = feed(feedCtx, device, aus, width, height); err != nil {
			c.Fail("camd-feed", "%v", err)
			return
		}
		c.Pass("camd-feed", "device=%s %dx%d units=%d", device, width, height, len(aus))
	}

	logs := &syncBuffer{}
	// Auth is on by default; the viewer below needs the token.
	token, err := auth.NewToken()
	if err != nil {
		c.Fail(c.name+"-start", "%v", err)
		return
	}
	c.token = token
	cmd := exec.Command(camdBin, append(camdArgs, "-listen", listen, "-set", "auth.token="+token)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		c.Fail(c.name+"-start", "%v", err)
		return
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill() }()

	start := time.Now()
	if err := waitHealthy(ctx, "http://"+listen+"/healthz", exited); err != nil {
		out := logs.String()
		if strings.Contains(out, "not supported by this build") {
			fmt.Printf("SKIP %s camd has no such source yet: %s\n", c.name, lastLine(out))
			return
		}
		c.Fail(c.name+"-start", "%v; camd said:\n%s", err, out)
		return
	}
	c.Pass(c.name+"-healthz", "after=%s", time.Since(start).Round(time.Millisecond))

	if err := c.view(ctx, "http://"+listen+"/whep", aus, want); err != nil {
		c.Fail(c.name+"-whep", "%v; fed=%d; camd said:\n%s", err, fed(), vmcheck.LastLines(logs.String(), 20))
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			c.Fail(c.name+"-stop", "exit after SIGTERM: %v", err)
		} else {
			c.Pass(c.name+"-stop", "clean exit after SIGTERM")
		}
	case <-time.After(10 * time.Second):
		c.Fail(c.name+"-stop", "still running 10 s after SIGTERM")
	}
}

// view receives want access units over WHEP and checks that the first is
// an IDR with its parameter sets and that every one carries the slices of
// a fed access unit.
func (c *check) view(ctx context.Context, endpoint string, aus [][]byte, want int) error {
	fedIndex := map[string]int{}
	for i, au := range aus {
		fedIndex[string(slices(au))] = i
	}
	start := time.Now()
	cl, err := whepclient.Dial(ctx, endpoint, whepclient.Options{IncludeLoopback: true, Token: c.token})
	if err != nil {
		return fmt.Errorf("whepclient.Dial: %w", err)
	}
	defer cl.Close()
	got, matched, inOrder, last := 0, 0, 0, -1
	for got < want {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d access units before the time limit", got, want)
		case u := <-cl.Units():
			if got == 0 && !(h264.IsKeyframe(u.Data) && h264.Contains(u.Data, h264.TypeSPS) && h264.Contains(u.Data, h264.TypePPS)) {
				return fmt.Errorf("first access unit is not an IDR with SPS and PPS (%d bytes)", len(u.Data))
			}
			got++
			if i, ok := fedIndex[string(slices(u.Data))]; ok {
				matched++
				if last >= 0 && i == (last+1)%len(aus) {
					inOrder++
				}
				last = i
			}
		}
	}
	if matched != got {
		return fmt.Errorf("%d of %d received access units differ from every fed one", got-matched, got)
	}
	st := cl.Stats()
	c.Pass(c.name+"-whep", "units=%d first=IDR matched=%d in_order=%d first_unit=%s lost=%d total=%s",
		got, matched, inOrder, st.FirstUnit.Round(time.Millisecond), st.Lost, time.Since(start).Round(time.Millisecond))
	return nil
}

// slices returns the access unit's VCL NAL units, concatenated: what a
// passthrough must keep intact (parameter sets may be added or repeated).
func slices(au []byte) []byte {
	var b []byte
	for _, n := range h264.SplitNALs(au) {
		if h264.TypeOf(n).IsVCL() {
			b = append(b, n...)
		}
	}
	return b
}

func streamSize(aus [][]byte) (int, int, error) {
	for _, au := range aus {
		for _, n := range h264.SplitNALs(au) {
			if h264.TypeOf(n) == h264.TypeSPS {
				s, err := h264.ParseSPS(n)
				if err != nil {
					return 0, 0, err
				}
				return s.Width, s.Height, nil
			}
		}
	}
	return 0, 0, errors.New("no SPS")
}

// feed sets the loopback's output format to H.264 and writes the access
// units at 30 per second, looping, until ctx ends. It returns a counter of
// written units.
func feed(ctx context.Context, device string, aus [][]byte, width, height int) (func() int, error) {
	d, err := v4l2.Open(device)
	if err != nil {
		return nil, err
	}
	size := 0
	for _, au := range aus {
		size = max(size, len(au))
	}
	f := v4l2.Format{Type: v4l2.BufTypeVideoOutput, Width: width, Height: height, PixelFormat: v4l2.PixH264,
		Planes: []v4l2.PlaneFormat{{SizeImage: size * 2}}}
	if _, err := d.SetFormat(f); err != nil {
		d.Close()
		return nil, err
	}
	var mu sync.Mutex
	n := 0
	write := func(i int) error {
		if err := d.Write(aus[i%len(aus)]); err != nil {
			return err
		}
		mu.Lock()
		n++
		mu.Unlock()
		return nil
	}
	if err := write(0); err != nil { // the capture side opens once a frame exists
		d.Close()
		return nil, err
	}
	go func() {
		defer d.Close()
		t := time.NewTicker(time.Second / 30)
		defer t.Stop()
		for i := 1; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := write(i); err != nil {
					fmt.Fprintf(os.Stderr, "camdcheck: feeder: %v\n", err)
					return
				}
			}
		}
	}()
	return func() int { mu.Lock(); defer mu.Unlock(); return n }, nil
}

// waitHealthy polls url until it answers 200, camd exits, or 30 s pass.
func waitHealthy(ctx context.Context, url string, exited <-chan error) error {
	deadline := time.After(30 * time.Second)
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("camd exited at start: %v", err)
		case <-deadline:
			return errors.New("camd not healthy after 30 s")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func lastLine(s string) string { return vmcheck.LastLines(s, 1) }
