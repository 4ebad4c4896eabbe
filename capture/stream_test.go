package capture

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/camd-project/camd/capture/h264"
)

// TestStreamSourceDatagrams feeds the fixture in Tello-sized datagrams,
// dropping one in the middle, and checks what comes out.
func TestStreamSourceDatagrams(t *testing.T) {
	data, err := os.ReadFile("testdata/testsrc-320x240.h264")
	if err != nil {
		t.Fatal(err)
	}
	want := h264.SplitAccessUnits(data)
	chunks := make(chan []byte, 4096)
	var lost uint64
	// Start mid-stream (a viewer of a drone that is already streaming).
	start := len(data) / 5
	n := 0
	for off := start; off < len(data); off += 1460 {
		end := min(off+1460, len(data))
		n++
		if n == 10 {
			lost++ // this datagram never arrives
			continue
		}
		chunks <- data[off:end]
	}
	close(chunks)
	src := NewStreamSource("tello", chunks, 960, 720, 30)
	src.Lost = func() uint64 { return lost } // the gap is known up front here

	var got []*Frame
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = src.Run(ctx, func(f *Frame) { got = append(got, f) })
	if err != ErrStreamEnded {
		t.Fatalf("Run = %v, want ErrStreamEnded", err)
	}
	if len(got) == 0 || !got[0].Keyframe {
		t.Fatalf("got %d frames, first keyframe=%v; want to start on a keyframe", len(got), len(got) > 0 && got[0].Keyframe)
	}
	if !h264.Contains(got[0].Planes[0], h264.TypeSPS) || !h264.Contains(got[0].Planes[0], h264.TypePPS) {
		t.Fatal("first keyframe lacks SPS/PPS")
	}
	for i, f := range got {
		if f.Seq != uint64(i) || f.Format != H264 {
			t.Fatalf("frame %d: seq %d format %v", i, f.Seq, f.Format)
		}
	}
	units, waited := src.Stats()
	// The fixture has keyframes at 0 and 30 of 60: starting a fifth in,
	// frames before the keyframe at 30 are passed over; the last unit is
	// held by the splitter until the stream goes on.
	if waited == 0 || units < 20 || int(units) > len(want) {
		t.Fatalf("units %d, waited %d (of %d in the file)", units, waited, len(want))
	}
}
