package capture_test

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/hw/v4l2"

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

// TestM2MDecoderDoesNotAllocate repeats the recorded steady state of
// rec-vicodec-decoder's second size (QBUF of the bitstream, DQBUF of it
// back, DQBUF of the picture, QBUF of its buffer): decoding a picture and
// copying it into a pooled frame allocates nothing.
func TestM2MDecoderDoesNotAllocate(t *testing.T) {
	ex, err := v4l2test.ReadFile("testdata/m2m-vicodec-decoder.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	const file = 2 // the decoder, opened after the two encoders
	ops := ex.Files[file].Ops
	if ex.Files[file].Path != "/dev/video5" {
		t.Fatalf("file %d is %s, want the decoder", file, ex.Files[file].Path)
	}
	// The bitstream QBUFs (output type 2) give each picture's size; the
	// decoder does not look at the bytes, the replay checks the sizes.
	var sizes []int
	for _, o := range ops {
		if o.Req == "VIDIOC_QBUF" && binary.LittleEndian.Uint32(o.In[4:]) == 2 {
			sizes = append(sizes, int(binary.LittleEndian.Uint32(o.In[8:])))
		}
	}
	// The fourth picture (the second at 800x480) is the steady state.
	q := -1
	for k, n := 0, 0; k < len(ops) && q < 0; k++ {
		if ops[k].Req == "VIDIOC_QBUF" && binary.LittleEndian.Uint32(ops[k].In[4:]) == 2 {
			if n++; n == 4 {
				q = k
			}
		}
	}
	if q < 0 || len(sizes) < 4 {
		t.Fatal("no steady state in the recording")
	}
	p, err := v4l2test.Playback(ex)
	if err != nil {
		t.Skip(err)
	}
	if err := p.Repeat(file, q, []int{q, q + 1, q + 2, q + 3}); err != nil {
		t.Fatal(err)
	}
	dec, err := capture.NewM2MDecoder(capture.M2MDecoderOptions{Device: "/dev/video5", Coded: capture.Format(v4l2.PixFWHT),
		Width: 640, Height: 360, Open: p.Open})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	decode := func(n int) {
		f, err := dec.Decode(make([]byte, n))
		if err != nil || f == nil {
			t.Fatalf("Decode: %v, %v", f, err)
		}
		f.Release()
	}
	for _, n := range sizes[:3] {
		decode(n)
	}
	in := make([]byte, sizes[3])
	allocs := testing.AllocsPerRun(50, func() {
		f, err := dec.Decode(in)
		if err != nil || f == nil {
			t.Fatalf("Decode: %v, %v", f, err)
		}
		f.Release()
	})
	if w, h := dec.Size(); w != 800 || h != 480 || allocs != 0 {
		t.Errorf("%dx%d, %.1f allocations per picture; want 800x480 and none", w, h, allocs)
	}
}
