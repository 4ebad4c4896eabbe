package stream

import (
	"math"
	"time"

	"github.com/pion/rtp"
)

// header readies the track's reused RTP header, under t.mu.
func (t *viewerTrack) header(seq uint16, ts uint32, marker bool) *rtp.Header {
	h := &t.hdr
	ext := h.Extensions[:0] // interceptors add the transport-wide number again
	*h = rtp.Header{
		Version: 2, PayloadType: t.pt, SSRC: t.ssrc, Timestamp: ts, SequenceNumber: seq, Marker: marker,
		Extensions: ext,
	}
	return h
}

// writePacket sends packet i of an access unit with this viewer's next
// sequence number, so the session can pace a picture's packets one by one,
// and remembers it for NACKs. It reports the payload bytes written.
func (t *viewerTrack) writePacket(u *unit, i int) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.bound {
		return 0, nil
	}
	seq := t.seq
	t.seq++
	if i <= math.MaxUint16 {
		t.sent[seq%nackHistory] = sentRef{u: u, i: uint16(i), seq: seq}
	} else {
		t.sent[seq%nackHistory] = sentRef{} // beyond any real picture: not kept
	}
	if _, err := t.w.WriteRTP(t.header(seq, u.ts, i == len(u.payloads)-1), u.payloads[i]); err != nil {
		return 0, err
	}
	return len(u.payloads[i]), nil
}

// resend sends the packets a NACK asked for again, with their original
// sequence numbers (RFC 4585 §6.2.1; no RTX), padding too.
//
// A viewer repeats its NACK every round trip until the packet arrives, so
// a packet resent less than again ago is passed over: the copy is still on
// its way. And retransmissions must not flood the path that lost the
// packets: budget, when not nil, is asked for every packet, and the first
// refusal ends the answer. libwebrtc and pion's responder do both the same
// way.
//
// It reports how many packets it sent, and how many it could not repair:
// those no longer kept, and those the budget left out. A picture missing
// one of those will not be whole in time (a repair bigger than the budget
// takes longer than a keyframe), so the caller asks for a keyframe rather
// than let the viewer wait for the next periodic one. Sequence numbers
// never sent are ignored.
func (t *viewerTrack) resend(seqs []uint16, now time.Time, again time.Duration, budget func(size int) bool) (sent, unrepaired int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.bound {
		return 0, 0, nil
	}
	// uint32 milliseconds wrap after 49 days; the difference does not.
	ms := uint32(now.Sub(t.epoch).Milliseconds()) + 1
	refused := false
	for _, seq := range seqs {
		if !seqNewer(t.seq, seq) {
			continue
		}
		r := &t.sent[seq%nackHistory]
		if r.u == nil || r.seq != seq {
			unrepaired++
			continue
		}
		if r.resent != 0 && time.Duration(ms-r.resent)*time.Millisecond < again {
			continue
		}
		if refused {
			unrepaired++
			continue
		}
		var p []byte
		var h *rtp.Header
		if r.u == paddingSent {
			// Lost padding leaves a gap the receiver cannot tell from lost
			// video: until it is filled, the next picture does not start.
			h = t.header(seq, t.padTS, false)
			h.Padding, h.PaddingSize = true, byte(r.i)
		} else {
			p = r.u.payloads[r.i]
			h = t.header(seq, r.u.ts, int(r.i) == len(r.u.payloads)-1)
		}
		if budget != nil && !budget(h.MarshalSize()+len(p)+int(h.PaddingSize)) {
			refused = true
			unrepaired++
			continue
		}
		r.resent = max(ms, 1)
		if _, err := t.w.WriteRTP(h, p); err != nil {
			return sent, unrepaired, err
		}
		sent++
	}
	return sent, unrepaired, nil
}

// paddingSent marks a sentRef of padding (its i is the padding size):
// receivers ignore a padding packet's timestamp, so a resent one carries
// the latest padding's.
var paddingSent = &unit{}

// retransmitWindow is the span over which retransmissions may reach the
// target bitrate, as libwebrtc's retransmission rate limiter measures.
const retransmitWindow = 500 * time.Millisecond

// retransmitBudget keeps a viewer's retransmissions within its target
// bitrate: a token bucket filled at that rate, holding at most
// retransmitWindow of it. It is used by the RTCP reader alone.
type retransmitBudget struct {
	bytes float64
	at    time.Time
}

// allow takes size bytes from the budget at bps, if it has them.
func (b *retransmitBudget) allow(now time.Time, size, bps int) bool {
	rate := float64(max(bps, 0)) / 8
	full := rate * retransmitWindow.Seconds()
	if b.at.IsZero() {
		b.bytes = full
	} else {
		b.bytes = min(full, b.bytes+rate*now.Sub(b.at).Seconds())
	}
	b.at = now
	if b.bytes < float64(size) {
		return false
	}
	b.bytes -= float64(size)
	return true
}

// writePadding sends a padding-only packet with n bytes of padding (at
// most 255) between access units, as libwebrtc does to probe without RTX:
// it takes a sequence number and ts, the last picture's timestamp, and
// receivers pass over it. It reports the padding bytes written.
func (t *viewerTrack) writePadding(ts uint32, n int) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.bound {
		return 0, nil
	}
	seq := t.seq
	t.seq++
	size := byte(min(max(n, 1), paddingLength))
	t.sent[seq%nackHistory] = sentRef{u: paddingSent, i: uint16(size), seq: seq}
	t.padTS = ts
	h := t.header(seq, ts, false)
	h.Padding = true
	h.PaddingSize = size
	if _, err := t.w.WriteRTP(h, nil); err != nil {
		return 0, err
	}
	return int(h.PaddingSize), nil
}
