package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/camd-project/camd/hw/v4l2"
	"github.com/camd-project/camd/hw/v4l2/v4l2test"
)

// env is what a case works with: the opener every device goes through
// (recording when asked) and a logger.
type env struct {
	name   string
	log    *slog.Logger
	out    io.Writer // verbose output (tables), stderr with -v
	open   v4l2.OpenFunc
	record bool
	rec    *v4l2test.Recorder
}

func newEnv(name string, log *slog.Logger, out io.Writer, record bool) *env {
	e := &env{name: name, log: log, out: out, record: record}
	e.open = e.wrap(v4l2.OpenFile)
	return e
}

// wrap returns open, recorded when the program records. A case that
// injects faults wraps its faulty opener, so that the recording holds the
// faults.
func (e *env) wrap(open v4l2.OpenFunc) v4l2.OpenFunc {
	if !e.record {
		return open
	}
	e.rec = v4l2test.NewRecorder(open, fmt.Sprintf("v4l2probe case %s on %s/%s, kernel %s", e.name, runtime.GOOS, runtime.GOARCH, kernelRelease()))
	return e.rec.Open
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return string(bytes.TrimSpace(b))
}

// writeRecord writes the case's exchange to dir/<case>.json.gz, or to
// stdout as base64 of the same bytes when dir is "-".
func writeRecord(e *env, dir string, stdout io.Writer) error {
	ex := e.rec.Exchange()
	var buf bytes.Buffer
	if err := ex.Write(&buf); err != nil {
		return err
	}
	if dir != "-" {
		return os.WriteFile(filepath.Join(dir, e.name+".json.gz"), buf.Bytes(), 0o644)
	}
	enc := base64.StdEncoding.EncodeToString(buf.Bytes())
	fmt.Fprintf(stdout, "BEGIN RECORD %s\n", e.name)
	for len(enc) > 76 {
		fmt.Fprintln(stdout, enc[:76])
		enc = enc[76:]
	}
	fmt.Fprintln(stdout, enc)
	fmt.Fprintf(stdout, "END RECORD %s\n", e.name)
	return nil
}
