package stream

import (
	"testing"
	"time"
	"unsafe"

	"github.com/pion/rtp"
)

// recordWriter is a bound track's writer that keeps the sequence numbers
// it was given.
type recordWriter struct {
	seqs []uint16
	pad  []byte // padding sizes
}

func (w *recordWriter) WriteRTP(h *rtp.Header, _ []byte) (int, error) {
	w.seqs = append(w.seqs, h.SequenceNumber)
	w.pad = append(w.pad, h.PaddingSize)
	return 0, nil
}

func (w *recordWriter) Write(b []byte) (int, error) { return len(b), nil }

// TestResendOncePerInterval: a viewer repeats its NACK each round trip; a
// packet is sent again only once per interval, padding too; packets no
// longer kept and those a refusing budget leaves out are counted as
// unrepaired; numbers never sent are ignored.
func TestResendOncePerInterval(t *testing.T) {
	w := &recordWriter{}
	tr := newViewerTrack("t")
	tr.w, tr.bound, tr.pt, tr.ssrc, tr.seq = w, true, 102, 1, 65530 // wraps
	u := &unit{payloads: [][]byte{make([]byte, 1000), make([]byte, 1000), make([]byte, 500)}, ts: 9000}
	for i := range u.payloads {
		if _, err := tr.writePacket(u, i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.writePadding(9000, 200); err != nil {
		t.Fatal(err)
	}
	if got := w.seqs; len(got) != 4 || got[0] != 65530 || got[3] != 65533 {
		t.Fatalf("sent %v", got)
	}
	w.seqs, w.pad = nil, nil
	now := time.Unix(100, 0)
	const again = 50 * time.Millisecond
	// 65533 is padding (a lost one leaves a gap like lost video), 65534
	// was never sent, 65000 is not kept.
	n, gone, err := tr.resend([]uint16{65531, 65533, 65534, 65000, 65532}, now, again, nil)
	if err != nil || n != 3 || len(w.seqs) != 3 || w.seqs[0] != 65531 || w.seqs[1] != 65533 || w.seqs[2] != 65532 {
		t.Fatalf("first NACK: %d sent (%v), %v; want 65531, 65533 (padding) and 65532", n, w.seqs, err)
	}
	if gone != 1 {
		t.Fatalf("first NACK: %d unrepaired, want 1 (65000, no longer kept; 65534 was never sent)", gone)
	}
	if w.pad[1] != 200 || w.pad[0] != 0 {
		t.Fatalf("padding resent with %d bytes of padding (media %d), want 200", w.pad[1], w.pad[0])
	}
	w.seqs, w.pad = nil, nil
	if n, u, _ := tr.resend([]uint16{65531, 65532}, now.Add(again-time.Millisecond), again, nil); n != 0 || u != 0 {
		t.Fatalf("the NACK repeated within the interval sent %d (%v), %d unrepaired; want none: the copies are on their way", n, w.seqs, u)
	}
	if n, _, _ := tr.resend([]uint16{65531, 65532}, now.Add(again), again, nil); n != 2 {
		t.Fatalf("the NACK repeated after the interval sent %d, want 2", n)
	}
	w.seqs = nil
	asked := 0
	refuse := func(size int) bool {
		asked++
		if size < 1000 {
			t.Fatalf("budget asked for %d bytes, less than the payload", size)
		}
		return asked == 1
	}
	if n, u, _ := tr.resend([]uint16{65530, 65531, 65532}, now.Add(time.Second), again, refuse); n != 1 || u != 2 || asked != 2 || w.seqs[0] != 65530 {
		t.Fatalf("with a budget for one packet: %d sent (%v), %d unrepaired, budget asked %d times; want 1 sent, 2 unrepaired, 2 asks", n, w.seqs, u, asked)
	}
	// The refused packet was not marked as resent: the next NACK gets it.
	w.seqs = nil
	if n, _, _ := tr.resend([]uint16{65531}, now.Add(time.Second), again, nil); n != 1 {
		t.Fatalf("the refused packet was not sent on the next NACK (%d)", n)
	}
}

// TestRetransmitBudget: retransmissions may burst to half a second of the
// target bitrate, then follow it.
func TestRetransmitBudget(t *testing.T) {
	var b retransmitBudget
	now := time.Unix(0, 0)
	const bps = 800_000 // 100 kB/s: 50 kB in the window
	sent := 0
	for b.allow(now, 1000, bps) {
		sent += 1000
		if sent > 1e6 {
			t.Fatal("no limit")
		}
	}
	if sent != 50_000 {
		t.Fatalf("burst of %d bytes, want 50000", sent)
	}
	// 10 ms later 1000 bytes more have come in, and no more.
	now = now.Add(10 * time.Millisecond)
	if !b.allow(now, 1000, bps) || b.allow(now, 1000, bps) {
		t.Fatal("10 ms at 100 kB/s is not one 1000-byte packet")
	}
	// Over a second it follows the rate, never more than the window.
	now = now.Add(time.Hour)
	sent = 0
	for i := 0; i < 1000; i++ {
		now = now.Add(time.Millisecond)
		for b.allow(now, 500, bps) {
			sent += 500
		}
	}
	if sent < 140_000 || sent > 151_000 {
		t.Fatalf("a second after an idle hour sent %d bytes, want the 50000 window and 100000 more", sent)
	}
	if b.allow(now, 1, 0) {
		t.Fatal("a zero target allowed a retransmission")
	}
}

// TestSentRefSize: every viewer keeps nackHistory of them.
func TestSentRefSize(t *testing.T) {
	if n := unsafe.Sizeof(sentRef{}); n != 16 {
		t.Fatalf("sentRef is %d bytes, want 16 (%d KiB per viewer)", n, n*nackHistory/1024)
	}
}
