package stream

import "github.com/pion/rtp"

// writePacket sends packet i of an access unit with this viewer's next
// sequence number, so the session can pace a picture's packets one by one.
// It reports the payload bytes written.
func (t *viewerTrack) writePacket(u *unit, i int) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.bound {
		return 0, nil
	}
	// A fresh header each time: interceptors add extensions to it and
	// the NACK responder keeps it for retransmission.
	hdr := &rtp.Header{
		Version:        2,
		PayloadType:    t.pt,
		SSRC:           t.ssrc,
		Timestamp:      u.ts,
		SequenceNumber: t.seq,
		Marker:         i == len(u.payloads)-1,
	}
	t.seq++
	if _, err := t.w.WriteRTP(hdr, u.payloads[i]); err != nil {
		return 0, err
	}
	return len(u.payloads[i]), nil
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
	hdr := &rtp.Header{
		Version:        2,
		Padding:        true,
		PaddingSize:    byte(min(max(n, 1), paddingLength)),
		PayloadType:    t.pt,
		SSRC:           t.ssrc,
		Timestamp:      ts,
		SequenceNumber: t.seq,
	}
	t.seq++
	if _, err := t.w.WriteRTP(hdr, nil); err != nil {
		return 0, err
	}
	return int(hdr.PaddingSize), nil
}
