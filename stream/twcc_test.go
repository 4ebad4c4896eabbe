package stream

import (
	"math"
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
)

// feedbackFor builds real TWCC feedback with pion's receiver-side recorder:
// arrivals maps sequence numbers to arrival times in µs; missing numbers
// between the lowest and highest are reported lost.
func feedbackFor(t *testing.T, seqs []uint16, arrivalUS []int64) []*rtcp.TransportLayerCC {
	t.Helper()
	rec := twcc.NewRecorder(1)
	for i, s := range seqs {
		rec.Record(2, s, arrivalUS[i])
	}
	var out []*rtcp.TransportLayerCC
	for _, p := range rec.BuildFeedbackPacket() {
		fb, ok := p.(*rtcp.TransportLayerCC)
		if !ok {
			t.Fatalf("recorder built %T", p)
		}
		// Through the wire format, as a viewer sends it.
		b, err := fb.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var back rtcp.TransportLayerCC
		if err := back.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		out = append(out, &back)
	}
	return out
}

func TestParseTWCC(t *testing.T) {
	// Around the 16-bit wrap, with a gap (65535 and 1 lost) and a large
	// delta (300 ms).
	seqs := []uint16{65530, 65531, 65532, 65533, 65534, 0, 2, 3, 4}
	arr := []int64{1_000_000, 1_000_250, 1_001_000, 1_002_000, 1_010_000, 1_012_000, 1_312_000, 1_312_500, 1_313_000}
	var c twccClock
	var got []twccArrival
	for _, fb := range feedbackFor(t, seqs, arr) {
		got = c.parseTWCC(fb, got)
	}
	want := map[uint16]int64{}
	for i, s := range seqs {
		want[s] = arr[i]
	}
	if len(got) != 11 {
		t.Fatalf("%d statuses, want 11 (65530..4): %+v", len(got), got)
	}
	var base time.Duration
	for i, a := range got {
		if a.seq != uint16(65530+i) {
			t.Fatalf("status %d is for %d, want %d", i, a.seq, uint16(65530+i))
		}
		us, ok := want[a.seq]
		if a.received != ok {
			t.Fatalf("seq %d received %v, want %v", a.seq, a.received, ok)
		}
		if !ok {
			continue
		}
		if i == 0 {
			base = a.at - time.Duration(us)*time.Microsecond
		}
		// The recorder rounds arrivals to 250 µs.
		if d := a.at - base - time.Duration(us)*time.Microsecond; d < -250*time.Microsecond || d > 250*time.Microsecond {
			t.Fatalf("seq %d arrived at %v, want %v", a.seq, a.at-base, time.Duration(us)*time.Microsecond)
		}
	}
}

func TestParseTWCCStopsAtBrokenInput(t *testing.T) {
	fb := &rtcp.TransportLayerCC{
		BaseSequenceNumber: 10, PacketStatusCount: 5,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 5}},
		RecvDeltas:   []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000}},
	}
	var c twccClock
	if got := c.parseTWCC(fb, nil); len(got) != 2 {
		t.Fatalf("%d statuses from 2 deltas, want 2", len(got))
	}
	// A run longer than the status count stops at the count.
	fb = &rtcp.TransportLayerCC{
		BaseSequenceNumber: 10, PacketStatusCount: 3,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 100}},
	}
	if got := c.parseTWCC(fb, nil); len(got) != 3 {
		t.Fatalf("%d statuses, want 3", len(got))
	}
}

func TestSendLog(t *testing.T) {
	var l sendLog
	now := time.Unix(0, 0)
	l.add(sentPacket{seq: 7, at: now.UnixNano(), size: 100})
	if p := l.get(7); p == nil || p.size != 100 {
		t.Fatalf("get(7) = %+v", p)
	}
	if l.get(8) != nil {
		t.Fatal("get of a packet never sent")
	}
	l.add(sentPacket{seq: 7 + sendLogSize, at: now.UnixNano(), size: 5})
	if l.get(7) != nil {
		t.Fatal("an overwritten packet is still found")
	}
}

// cluster makes n packets of size bytes sent at sendBps and arriving at
// recvBps, with every lossEvery-th lost (0: none).
func cluster(n, size, sendBps, recvBps, lossEvery int) []*sentPacket {
	t0 := time.Unix(100, 0)
	out := make([]*sentPacket, n)
	for i := range out {
		p := &sentPacket{
			seq:  uint16(i),
			at:   t0.Add(time.Duration(float64(i*size*8) / float64(sendBps) * float64(time.Second))).UnixNano(),
			size: int32(size), reported: true, received: true,
			arrival: 5*time.Second + time.Duration(float64(i*size*8)/float64(recvBps)*float64(time.Second)),
		}
		if lossEvery > 0 && i%lossEvery == lossEvery-1 {
			p.received, p.arrival = false, 0
		}
		out[i] = p
	}
	return out
}

func near(a, b int, tol float64) bool { return math.Abs(float64(a-b)) <= tol*float64(b) }

func TestEvalProbe(t *testing.T) {
	// The path kept up: the probe rate.
	r, ok := evalProbe(cluster(60, 1000, 2_000_000, 2_000_000, 0))
	if !ok || r.Saturated || !near(r.Rate, 2_000_000, 0.02) {
		t.Fatalf("unsaturated probe: %+v ok=%v", r, ok)
	}
	// Arrivals faster than sends (a burst queued somewhere): the send rate.
	r, ok = evalProbe(cluster(60, 1000, 2_000_000, 3_000_000, 0))
	if !ok || r.Saturated || !near(r.Rate, 2_000_000, 0.02) {
		t.Fatalf("probe arriving faster: %+v ok=%v", r, ok)
	}
	// A 1 Mbit/s bottleneck stretched it: just under what arrived.
	r, ok = evalProbe(cluster(60, 1000, 2_000_000, 1_000_000, 0))
	if !ok || !r.Saturated || !near(r.Rate, 950_000, 0.02) {
		t.Fatalf("saturated probe: %+v ok=%v", r, ok)
	}
	// Just over a bottleneck (arriving at 92 % of the send rate): saturated.
	r, ok = evalProbe(cluster(60, 1000, 1_000_000, 920_000, 0))
	if !ok || !r.Saturated {
		t.Fatalf("probe arriving at 92 %%: %+v ok=%v", r, ok)
	}
	// 10 % loss still measures; 25 % does not.
	if _, ok := evalProbe(cluster(60, 1000, 2_000_000, 2_000_000, 10)); !ok {
		t.Fatal("10 % loss refused")
	}
	if r, ok := evalProbe(cluster(60, 1000, 2_000_000, 2_000_000, 4)); ok {
		t.Fatalf("25 %% loss accepted: %+v", r)
	}
	if r, ok := evalProbe(cluster(4, 1000, 2_000_000, 2_000_000, 0)); ok {
		t.Fatalf("4 packets accepted: %+v", r)
	}
	// Everything in the same microsecond: no interval.
	same := cluster(10, 1000, 2_000_000, 2_000_000, 0)
	for _, p := range same {
		p.arrival = time.Second
	}
	if r, ok := evalProbe(same); ok {
		t.Fatalf("zero arrival interval accepted: %+v", r)
	}
}
