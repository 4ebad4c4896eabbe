package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
)

// TestLoadAgainstCamd runs camd-load with five viewers against the real
// camd binary and checks its report.
func TestLoadAgainstCamd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts camd")
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, err := harness.Build(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := harness.Start(ctx, bin, "-source", "pattern", "-size", "320x240")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(10 * time.Second)

	var out, errb bytes.Buffer
	code := run([]string{"-url", c.URL + "/whep", "-token", c.Token, "-n", "5", "-duration", "2s", "-loopback", "-json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("camd-load exited %d:\n%s\n%s", code, out.String(), errb.String())
	}
	report := out.String()
	for _, want := range []string{"viewers: 5 connected, 0 failed", "first frame not a keyframe: 0 viewers", "frame rate"} {
		if !strings.Contains(report, want) {
			t.Fatalf("report lacks %q:\n%s", want, report)
		}
	}
	t.Log("\n" + report)

	// A server that is not there: every viewer fails, exit code 1.
	out.Reset()
	if code := run([]string{"-url", "http://127.0.0.1:1/whep", "-n", "2", "-duration", "1s"}, &out, &errb); code != 1 ||
		!strings.Contains(out.String(), "0 connected, 2 failed") {
		t.Fatalf("no server: exit %d\n%s", code, out.String())
	}
}
