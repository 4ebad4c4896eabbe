package capture_test

import (
	"context"
	"testing"

	"github.com/camd-project/camd/encode/vicodectest"
	"github.com/camd-project/camd/hw/v4l2/v4l2test"
)

// TestM2MDecoderVicodecReplay replays rec-vicodec-decoder (v4l2probe,
// cases_decoder.go), recorded on vicodec in the VM: pattern pictures
// encoded by vicodec's encoder at 640x360 and 800x480, decoded by its
// stateful decoder through the first source change, a second one in
// mid-stream (640x360 → 800x480: the old capture buffers up to LAST, the
// queue set up again), a drain (DEC_CMD_STOP until LAST) and a restart.
// Every decoded picture must match its source (vicodectest compares them).
func TestM2MDecoderVicodecReplay(t *testing.T) {
	p := v4l2test.Load(t, "testdata/m2m-vicodec-decoder.json.gz")
	res, err := vicodectest.RoundTrip{Encoder: "/dev/video4", Decoder: "/dev/video5",
		Sizes: [2][2]int{{640, 360}, {800, 480}}, N: 2}.Run(context.Background(), p.Open)
	if err != nil {
		t.Fatal(err)
	}
	if res.Frames != 5 || res.SourceChanges != 2 {
		t.Errorf("%v; want 5 frames and 2 source changes", res)
	}
	t.Log(res)
}
