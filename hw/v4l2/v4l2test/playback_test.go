package v4l2test_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/camd-project/camd/hw/v4l2"
	"github.com/camd-project/camd/hw/v4l2/v4l2test"
)

const devices = "../testdata/devices.json.gz"

func load(t *testing.T) *v4l2test.Exchange {
	t.Helper()
	ex, err := v4l2test.ReadFile(devices)
	if err != nil {
		t.Fatal(err)
	}
	if ex.PointerSize != v4l2.PointerSize {
		t.Skipf("recorded with %d-byte pointers", ex.PointerSize)
	}
	return ex
}

// TestPlaybackMatches replays the recorded QUERYCAP of vivid: the same
// call gets the recorded answer, and Close is satisfied once every
// recorded operation was done.
func TestPlaybackMatches(t *testing.T) {
	ex := load(t)
	first := &v4l2test.Exchange{PointerSize: ex.PointerSize, Files: []*v4l2test.File{{Path: "/dev/video0", Ops: []v4l2test.Op{ex.Files[0].Ops[0], {Op: v4l2test.OpClose}}}}}
	p, err := v4l2test.Playback(first)
	if err != nil {
		t.Fatal(err)
	}
	d, err := v4l2.OpenWith(p.Open, "/dev/video0")
	if err != nil {
		t.Fatal(err)
	}
	if c := d.Capability(); c.Driver != "vivid" || !c.IsCapture() {
		t.Errorf("capability %+v, want vivid's capture node", c)
	}
	if err := p.Close(); err == nil || !errors.Is(err, v4l2test.ErrMismatch) {
		t.Errorf("Close with the close not done = %v, want ErrMismatch", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close after everything = %v", err)
	}
}

// TestPlaybackMismatch asks the replayed device something else than the
// recording holds: the call fails and so does Close.
func TestPlaybackMismatch(t *testing.T) {
	ex := load(t)
	p, err := v4l2test.Playback(ex)
	if err != nil {
		t.Fatal(err)
	}
	d, err := v4l2.OpenWith(p.Open, "/dev/video0")
	if err != nil {
		t.Fatal(err)
	}
	// The recording enumerates formats next; asking for the frame
	// interval instead is a mismatch.
	if _, _, err := d.FrameInterval(v4l2.BufTypeVideoCapture); !errors.Is(err, v4l2test.ErrMismatch) {
		t.Errorf("FrameInterval = %v, want ErrMismatch", err)
	}
	if _, err := v4l2.OpenWith(p.Open, "/dev/video99"); !errors.Is(err, v4l2test.ErrMismatch) {
		t.Errorf("opening an unrecorded node = %v, want ErrMismatch", err)
	}
	err = p.Close()
	if !errors.Is(err, v4l2test.ErrMismatch) {
		t.Fatalf("Close = %v, want ErrMismatch", err)
	}
	for _, want := range []string{"VIDIOC_G_PARM", "never happened", "operations consumed"} {
		if !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("Close error %q does not mention %q", err, want)
		}
	}
}

// TestExchangeRoundTrip writes and reads an exchange.
func TestExchangeRoundTrip(t *testing.T) {
	ex := load(t)
	var b bytes.Buffer
	if err := ex.Write(&b); err != nil {
		t.Fatal(err)
	}
	back, err := v4l2test.Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Ops() != ex.Ops() || back.Summary() != ex.Summary() {
		t.Errorf("round trip: %s, want %s", back.Summary(), ex.Summary())
	}
	if _, err := v4l2test.Read(bytes.NewReader([]byte("not gzip"))); err == nil {
		t.Error("Read of garbage succeeded")
	}
}
