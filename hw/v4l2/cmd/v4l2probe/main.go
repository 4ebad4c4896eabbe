// Command v4l2probe proves camd's V4L2 code against real kernel drivers:
// vivid (a virtual camera with webcam and HDMI inputs), vicodec (a
// stateful M2M encoder producing FWHT) and v4l2loopback (a node any
// program can feed, standing in for a UVC camera that sends H.264 or
// MJPEG). The VM tests (scripts/vmtest) run it inside qemu; it runs just
// as well on any Linux machine with those modules loaded.
//
// Usage:
//
//	v4l2probe [-case list] [-timeout 60s] [-record dir] [-v]
//
// It prints one line per case, `PASS <case> key=value…` or
// `FAIL <case> <reason>`, then `DONE pass=<n> fail=<n>`, and exits 1 if
// any case failed. With -record it also writes each case's V4L2 exchange
// (package v4l2test) to <dir>/<case>.json.gz, or to stdout as base64
// between BEGIN RECORD and END RECORD lines when dir is "-". See
// hw/v4l2/VMTEST.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("v4l2probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	caseList := fs.String("case", "all", "comma-separated cases to run, all (every check), or rec (the fixtures for unit tests): "+strings.Join(caseNames(), ","))
	timeout := fs.Duration("timeout", 60*time.Second, "time limit per case")
	record := fs.String("record", "", "write each case's V4L2 exchange to this directory (- for stdout)")
	verbose := fs.Bool("v", false, "log to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var selected []probeCase
	switch *caseList {
	case "all":
		selected = defaultCases()
	case "rec":
		for _, c := range cases {
			if c.rec {
				selected = append(selected, c)
			}
		}
	default:
		for _, name := range strings.Split(*caseList, ",") {
			c, ok := findCase(strings.TrimSpace(name))
			if !ok {
				fmt.Fprintf(stderr, "v4l2probe: unknown case %q; cases: %s\n", name, strings.Join(caseNames(), ", "))
				return 2
			}
			selected = append(selected, c)
		}
	}
	level := slog.LevelWarn
	verboseOut = io.Discard
	if *verbose {
		level = slog.LevelDebug
		verboseOut = stderr
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	// The whole program never outlives the sum of its cases' limits.
	deadline := time.Duration(len(selected))*(*timeout) + 10*time.Second
	time.AfterFunc(deadline, func() {
		fmt.Fprintf(stdout, "FAIL v4l2probe did not finish within %v\n", deadline)
		os.Exit(1)
	})

	pass, fail := 0, 0
	for _, c := range selected {
		details, err := runCase(c, *timeout, *record, log, stdout)
		if err != nil {
			fail++
			fmt.Fprintf(stdout, "FAIL %s %v\n", c.name, oneLine(err))
			continue
		}
		pass++
		fmt.Fprintf(stdout, "PASS %s %s\n", c.name, details)
	}
	fmt.Fprintf(stdout, "DONE pass=%d fail=%d\n", pass, fail)
	if fail > 0 {
		return 1
	}
	return 0
}

// runCase runs c under its time limit, recording its exchange when asked.
func runCase(c probeCase, timeout time.Duration, record string, log *slog.Logger, stdout io.Writer) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	e := newEnv(c.name, log.With("case", c.name), verboseOut, record != "")
	type result struct {
		details string
		err     error
	}
	done := make(chan result, 1)
	go func() {
		d, err := c.run(ctx, e)
		done <- result{d, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(timeout + 5*time.Second):
		buf := make([]byte, 1<<20)
		fmt.Fprintf(os.Stderr, "v4l2probe: case %s hung; goroutines:\n%s\n", c.name, buf[:runtime.Stack(buf, true)])
		tasks, _ := filepath.Glob("/proc/self/task/*/stack")
		for _, t := range tasks {
			if b, err := os.ReadFile(t); err == nil && len(b) > 0 {
				fmt.Fprintf(os.Stderr, "%s:\n%s\n", t, b)
			}
		}
		return "", fmt.Errorf("hung: no result %v after the case's time limit", 5*time.Second)
	}
	if r.err == nil && ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		r.err = fmt.Errorf("timed out after %v", timeout)
	}
	if record != "" && e.rec != nil {
		if err := writeRecord(e, record, stdout); err != nil && r.err == nil {
			r.err = err
		}
	}
	return r.details, r.err
}

// verboseOut takes tables and dumps: stderr with -v.
var verboseOut io.Writer = io.Discard

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
