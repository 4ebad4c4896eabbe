package capture_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/capturetest"
	"github.com/camd-project/camd/capture/h264"
)

const fixture = "testdata/testsrc-320x240.h264"

func nalTypes(au []byte) []h264.NALType {
	var ts []h264.NALType
	for _, n := range h264.SplitNALs(au) {
		ts = append(ts, h264.TypeOf(n))
	}
	return ts
}

func hasParamSets(au []byte) bool {
	return h264.Contains(au, h264.TypeSPS) && h264.Contains(au, h264.TypePPS)
}

func TestFileSourcePlaysInALoop(t *testing.T) {
	s, err := capture.NewFileSource(fixture, 30)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Info(), (capture.Info{Name: fixture, Format: capture.H264, Width: 320, Height: 240, FPS: 30}); got != want {
		t.Errorf("Info = %+v, want %+v", got, want)
	}
	if s.Len() != 60 {
		t.Errorf("Len = %d, want 60", s.Len())
	}
	file, _ := os.ReadFile(fixture)
	aus := h264.SplitAccessUnits(file)
	clock := capturetest.NewClock(epoch)
	s.Clock = clock
	r := start(t, clock, s)
	for n := uint64(0); n < 130; n++ {
		if n > 0 {
			r.asleep()
			clock.Advance(due(n, 30) - due(n-1, 30))
		}
		f := r.next()
		if f.Seq != n || !f.Time.Equal(epoch.Add(due(n, 30))) || f.Format != capture.H264 || f.Width != 320 || f.Height != 240 {
			t.Fatalf("frame %d: seq %d at %v, %v %dx%d", n, f.Seq, f.Time.Sub(epoch), f.Format, f.Width, f.Height)
		}
		au := f.Planes[0]
		if want := n%30 == 0; f.Keyframe != want || h264.IsKeyframe(au) != want {
			t.Errorf("frame %d: Keyframe %v, IDR in data %v; want %v", n, f.Keyframe, h264.IsKeyframe(au), want)
		}
		if f.Keyframe && !hasParamSets(au) {
			t.Errorf("frame %d: keyframe without SPS and PPS: %v", n, nalTypes(au))
		}
		if !bytes.Equal(au, aus[n%60]) {
			t.Errorf("frame %d: data differs from access unit %d of the file", n, n%60)
		}
		f.Release()
	}
}

// writeStream writes access units as a file, optionally without parameter
// sets in front of the later IDRs.
func writeStream(t *testing.T, aus [][]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stream.h264")
	if err := os.WriteFile(path, bytes.Join(aus, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func stripParamSets(au []byte) []byte {
	var out []byte
	for _, n := range h264.SplitNALs(au) {
		if t := h264.TypeOf(n); t != h264.TypeSPS && t != h264.TypePPS {
			out = append(append(out, 0, 0, 0, 1), n...)
		}
	}
	return out
}

func TestFileSourceAddsParamSets(t *testing.T) {
	file, _ := os.ReadFile(fixture)
	aus := h264.SplitAccessUnits(file)
	// Parameter sets only once, and the file starts with three P frames
	// cut from its end, which no decoder can start with.
	var edited [][]byte
	edited = append(edited, aus[57:]...)
	edited = append(edited, aus[:30]...)
	edited = append(edited, stripParamSets(aus[30]))
	edited = append(edited, aus[31:57]...)
	s, err := capture.NewFileSource(writeStream(t, edited), 25)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 57 {
		t.Errorf("Len = %d, want 57 (leading P frames dropped)", s.Len())
	}
	clock := capturetest.NewClock(epoch)
	s.Clock = clock
	r := start(t, clock, s)
	for n := uint64(0); n < 60; n++ {
		if n > 0 {
			r.asleep()
			clock.Advance(due(n, 25) - due(n-1, 25))
		}
		f := r.next()
		want := n%57 == 0 || n%57 == 30
		if f.Keyframe != want {
			t.Errorf("frame %d: Keyframe %v, want %v", n, f.Keyframe, want)
		}
		if f.Keyframe && !hasParamSets(f.Planes[0]) {
			t.Errorf("frame %d: keyframe without SPS and PPS: %v", n, nalTypes(f.Planes[0]))
		}
		f.Release()
	}
}

// After a stall the Seq jumps but the access units stay in order, so the
// stream remains decodable.
func TestFileSourceStall(t *testing.T) {
	s, err := capture.NewFileSource(fixture, 30)
	if err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(fixture)
	aus := h264.SplitAccessUnits(file)
	clock := capturetest.NewClock(epoch)
	s.Clock = clock
	r := start(t, clock, s)
	r.next().Release()
	r.asleep()
	clock.Advance(due(10, 30))
	f := r.next()
	if f.Seq != 10 || s.Skipped() != 9 || !bytes.Equal(f.Planes[0], aus[1]) {
		t.Errorf("after a stall: seq %d, skipped %d, access unit 1: %v", f.Seq, s.Skipped(), bytes.Equal(f.Planes[0], aus[1]))
	}
	f.Release()
	r.asleep()
	clock.Advance(due(11, 30) - due(10, 30))
	if f := r.next(); f.Seq != 11 || !bytes.Equal(f.Planes[0], aus[2]) {
		t.Errorf("next frame: seq %d, want 11 with access unit 2", f.Seq)
	}
}

func TestFileSourceErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	file, _ := os.ReadFile(fixture)
	aus := h264.SplitAccessUnits(file)
	tests := []struct {
		name, path string
		is         error
		says       string
	}{
		{"missing", filepath.Join(dir, "nope.h264"), fs.ErrNotExist, "nope.h264"},
		{"directory", dir, nil, "not a regular file"},
		{"empty", write("empty.h264", nil), nil, "is empty"},
		{"text", write("notes.txt", []byte("hello, this is not video\n")), capture.ErrNotH264, "notes.txt"},
		{"parameter sets only", write("ps.h264", h264.SplitNALs(aus[0])[0]), capture.ErrNotH264, "not an H.264"},
		{"no IDR", write("p.h264", bytes.Join(aus[1:30], nil)), capture.ErrNotH264, "no IDR"},
		{"no SPS", write("nosps.h264", stripParamSets(aus[0])), capture.ErrNotH264, "no SPS"},
		{"bad SPS", write("badsps.h264", []byte{0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x65, 0x88}), nil, "h264.ParseSPS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := capture.NewFileSource(tt.path, 30)
			if err == nil {
				t.Fatalf("NewFileSource succeeded: %+v", s.Info())
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.says) || !strings.HasPrefix(err.Error(), "capture.NewFileSource: ") {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
		})
	}
	if _, err := capture.NewFileSource(fixture, -1); err == nil {
		t.Error("fps -1 accepted")
	}
}
