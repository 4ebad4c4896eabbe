package whepclient

import "testing"

func TestSeqTracker(t *testing.T) {
	var tr seqTracker
	for _, s := range []uint16{65533, 65534, 65535, 0, 1} { // across the wrap
		if !tr.add(s) {
			t.Fatalf("%d not in order", s)
		}
	}
	tr.add(5) // 2, 3, 4 missing
	if tr.missing != 3 {
		t.Fatalf("missing %d, want 3", tr.missing)
	}
	if tr.add(3) { // a retransmission
		t.Fatal("a late packet counted in order")
	}
	tr.add(3) // and again
	tr.add(4)
	if tr.missing != 1 || tr.recovered != 2 || tr.duplicates != 1 {
		t.Fatalf("missing %d recovered %d duplicates %d, want 1 2 1", tr.missing, tr.recovered, tr.duplicates)
	}
	// A jump far ahead, then a packet from before the window.
	tr.add(5 + 3000)
	if tr.missing != 1+2999 {
		t.Fatalf("missing %d after a jump of 3000", tr.missing)
	}
	tr.add(2) // older than the window: not a recovery
	if tr.recovered != 2 {
		t.Fatalf("recovered %d: a packet beyond the window filled a gap", tr.recovered)
	}
	tr.add(5 + 2999) // inside the window: fills a gap
	if tr.recovered != 3 || tr.missing != 2999 {
		t.Fatalf("recovered %d missing %d", tr.recovered, tr.missing)
	}
}
