package stream

import (
	"maps"
	"testing"
	"time"
)

// Each forced keyframe counts under the reason of the first request it
// served: a PLI forces one at once; a FIR and a PLI inside the interval
// are folded into one that counts as the FIR's.
func TestHubCountsForcedKeyframesByReason(t *testing.T) {
	clk := newFakeClock()
	kf := &countingKeyframer{}
	h := NewHub(HubOptions{Keyframes: kf, KeyframeInterval: 500 * time.Millisecond, now: clk.Now, after: clk.AfterFunc})
	defer h.Close()
	h.RequestKeyframe(ReasonPLI)
	clk.Advance(100 * time.Millisecond)
	h.RequestKeyframe(ReasonFIR)
	h.RequestKeyframe(ReasonPLI)
	clk.Advance(400 * time.Millisecond)
	st := h.Stats()
	want := map[string]uint64{ReasonPLI: 1, ReasonFIR: 1}
	if kf.count() != 2 || st.Keyframe.Forced != 2 || !maps.Equal(st.ForcedBy, want) {
		t.Fatalf("forced %d (%d counted), by reason %v; want 2, %v", kf.count(), st.Keyframe.Forced, st.ForcedBy, want)
	}
}
