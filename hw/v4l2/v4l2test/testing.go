package v4l2test

import (
	"testing"

	"github.com/camd-project/camd/hw/v4l2"
)

// Load reads the exchange in file and returns a Player for it. The test is
// skipped on targets whose pointer size differs from the recording's, and
// fails at its end (Cleanup) when the replay differed from the recording or
// left some of it unconsumed.
func Load(tb testing.TB, file string) *Player {
	tb.Helper()
	ex, err := ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	if ex.PointerSize != v4l2.PointerSize {
		tb.Skipf("%s was recorded with %d-byte pointers, this target has %d", file, ex.PointerSize, v4l2.PointerSize)
	}
	p, err := Playback(ex)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Errorf("replay of %s: %v", file, err)
		}
	})
	return p
}
