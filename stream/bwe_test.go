package stream

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

const testSSRC, twccID = 1111, 3

// bweRig is an estimator between a fake sender and a recording wire, on a
// hand-moved clock.
type bweRig struct {
	t    *testing.T
	e    *estimator
	w    interceptor.RTPWriter
	now  time.Time
	wire []rtp.Header

	mediaSeq, twccSeq uint16
	sentAt            map[uint16]time.Time // by transport-wide number
	sizes             map[uint16]int
	mu                sync.Mutex
}

func newBWERig(t *testing.T, initial int) *bweRig {
	r := &bweRig{t: t, now: time.Unix(1_700_000_000, 0), sentAt: map[uint16]time.Time{}, sizes: map[uint16]int{}}
	e, err := newEstimator(bweOptions{Initial: initial, Min: 50_000, Max: 8_000_000, Now: func() time.Time {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.now
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	r.e = e
	info := &interceptor.StreamInfo{SSRC: testSSRC, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: twccURI, ID: twccID}}}
	r.w = e.AddStream(info, interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, _ interceptor.Attributes) (int, error) {
		r.wire = append(r.wire, *h)
		return len(p), nil
	}))
	return r
}

func (r *bweRig) advance(d time.Duration) {
	r.mu.Lock()
	r.now = r.now.Add(d)
	r.mu.Unlock()
}

// send writes a packet as the interceptors above would: media sequence
// number seq (or the next), a fresh transport-wide number, size bytes of
// payload or of padding.
func (r *bweRig) send(seq *uint16, size int, padding bool) uint16 {
	h := &rtp.Header{Version: 2, SSRC: testSSRC, SequenceNumber: r.mediaSeq}
	if seq != nil {
		h.SequenceNumber = *seq
	} else {
		r.mediaSeq++
	}
	ext, _ := (&rtp.TransportCCExtension{TransportSequence: r.twccSeq}).Marshal()
	if err := h.SetExtension(twccID, ext); err != nil {
		r.t.Fatal(err)
	}
	var payload []byte
	if padding {
		h.Padding, h.PaddingSize = true, byte(size)
	} else {
		payload = make([]byte, size)
	}
	if _, err := r.w.Write(h, payload, nil); err != nil {
		r.t.Fatal(err)
	}
	ts := r.twccSeq
	r.sentAt[ts], r.sizes[ts] = r.now, size
	r.twccSeq++
	return ts
}

// feedback reports the transport-wide numbers from..to-1 as arrived at
// bps since the first, or as they were sent when bps is 0 (a free path);
// lost ones are not reported as received.
func (r *bweRig) feedback(from, to uint16, bps int, lost map[uint16]bool) {
	rec := twcc.NewRecorder(9)
	at := int64(5_000_000)
	for s := from; s != to; s++ {
		if bps == 0 {
			at = 5_000_000 + r.sentAt[s].Sub(r.sentAt[from]).Microseconds()
		}
		if !lost[s] {
			rec.Record(testSSRC, s, at)
		}
		size := r.sizes[s]
		if p := r.e.sent.get(s); p != nil {
			size = int(p.size) // as on the wire
		}
		if bps > 0 {
			at += int64(size) * 8 * 1_000_000 / int64(bps)
		}
	}
	if err := r.e.WriteRTCP(rec.BuildFeedbackPacket(), nil); err != nil {
		r.t.Fatalf("WriteRTCP: %v", err)
	}
}

func TestEstimatorSources(t *testing.T) {
	r := newBWERig(t, 1_000_000)
	if b, src := r.e.estimate(); b != 0 || src != "" {
		t.Fatalf("before any feedback: %d %q, want unknown", b, src)
	}
	r.e.onREMB(700_000)
	if b, src := r.e.estimate(); b != 700_000 || src != SourceREMB {
		t.Fatalf("after REMB: %d %q", b, src)
	}
	first := r.send(nil, 1000, false)
	r.send(nil, 1000, false)
	r.feedback(first, first+2, 1_000_000, nil)
	if b, src := r.e.estimate(); b != 1_000_000 || src != SourceTWCC {
		t.Fatalf("with TWCC: %d %q, want GCC's 1 Mbit/s first", b, src)
	}
	// Feedback stops: the estimate goes stale and unknown.
	r.advance(2500 * time.Millisecond)
	if b, src := r.e.estimate(); b != 0 || src != "" {
		t.Fatalf("2.5 s without feedback: %d %q, want unknown", b, src)
	}
}

func TestEstimatorRetransmissions(t *testing.T) {
	r := newBWERig(t, 1_000_000)
	for range 10 {
		r.send(nil, 1000, false)
	}
	old := uint16(5)
	r.send(&old, 1000, false) // a NACK's answer
	if st := r.e.stats(); st.Retransmits != 1 || len(r.wire) != 11 {
		t.Fatalf("%d retransmissions, %d on the wire; want 1 and 11", st.Retransmits, len(r.wire))
	}
	// A second later the packet is useless: it does not go out.
	r.advance(1100 * time.Millisecond)
	r.send(&old, 1000, false)
	if st := r.e.stats(); st.Retransmits != 1 || len(r.wire) != 11 || r.e.tooOld != 1 {
		t.Fatalf("%d retransmissions, %d on the wire, %d too old; want 1, 11, 1", st.Retransmits, len(r.wire), r.e.tooOld)
	}
	r.send(nil, 200, true)
	if st := r.e.stats(); st.Padding != 1 || st.PaddingBytes < 200 {
		t.Fatalf("padding %d packets %d bytes", st.Padding, st.PaddingBytes)
	}
}

// sendFor writes media of size bytes every gap, and padding as the pacer
// would fill a probe, for d; it returns the first and next numbers.
func (r *bweRig) sendFor(d, gap time.Duration, size int, pad bool) (from, to uint16) {
	from = r.twccSeq
	for end := r.now.Add(d); r.now.Before(end); r.advance(gap) {
		r.send(nil, size, false)
		if pad {
			r.send(nil, 255, true)
		}
	}
	return from, r.twccSeq
}

func TestEstimatorProbeRestartsGCC(t *testing.T) {
	r := newBWERig(t, 1_000_000)
	from, to := r.sendFor(200*time.Millisecond, 10*time.Millisecond, 1200, false)
	r.feedback(from, to, 5_000_000, nil)
	rate := r.e.probe(1_000_000)
	if rate != 2_000_000 {
		t.Fatalf("probe at %d, want 2 Mbit/s", rate)
	}
	// The cluster: 100 ms at 2 Mbit/s, a 1200-byte packet and padding
	// every 6 ms, arriving as they were sent.
	from, to = r.sendFor(100*time.Millisecond, 6*time.Millisecond, 1200, true)
	if got := r.e.probe(1_000_000); got != 0 {
		t.Fatalf("a second probe (%d) while the first awaits feedback", got)
	}
	r.feedback(from, to, 0, nil)
	st := r.e.stats()
	if st.Probes != 1 || st.ProbesOK != 1 || st.GCCRestarts != 1 {
		t.Fatalf("probe stats %+v", st)
	}
	if est := r.e.GetTargetBitrate(); est < 1_800_000 || est > 2_300_000 {
		t.Fatalf("estimate %d after a 2 Mbit/s probe arrived in full", est)
	}
	// It leads on: the next probe doubles, at once.
	if next := r.e.probe(2_000_000); next < 3_600_000 {
		t.Fatalf("next probe at %d, want about twice the new estimate", next)
	}
}

func TestEstimatorSaturatedProbe(t *testing.T) {
	r := newBWERig(t, 1_000_000)
	from, to := r.sendFor(200*time.Millisecond, 10*time.Millisecond, 1200, false)
	r.feedback(from, to, 5_000_000, nil)
	if r.e.probe(1_000_000) == 0 {
		t.Fatal("no probe")
	}
	from, to = r.sendFor(100*time.Millisecond, 6*time.Millisecond, 1200, true)
	r.feedback(from, to, 1_100_000, nil) // a 1.1 Mbit/s bottleneck
	if st := r.e.stats(); st.ProbesOK != 0 || st.GCCRestarts != 0 {
		t.Fatalf("a probe the path could not carry raised the estimate: %+v", st)
	}
	// Nor does a lost cluster; and no probe follows before the interval.
	r.advance(time.Second)
	if got := r.e.probe(1_000_000); got != 0 {
		t.Fatalf("probe again after %v: %d", time.Second, got)
	}
}

func TestEstimatorIgnoresBadFeedback(t *testing.T) {
	r := newBWERig(t, 1_000_000)
	r.send(nil, 1000, false)
	bad := &rtcp.TransportLayerCC{
		BaseSequenceNumber: 0, PacketStatusCount: 5,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 5}},
	}
	if err := r.e.WriteRTCP([]rtcp.Packet{bad, &rtcp.PictureLossIndication{}}, nil); err != nil {
		t.Fatalf("WriteRTCP returned %v; an error would end the viewer's RTCP", err)
	}
}
