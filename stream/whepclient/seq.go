package whepclient

// seqWindow is how far back a late packet may fill a gap.
const seqWindow = 1024

// seqTracker follows RTP sequence numbers: the packets missing so far,
// the late ones that filled a gap (retransmissions after a NACK, or
// reordering), and duplicates.
type seqTracker struct {
	init    bool
	highest uint64 // extended sequence number of the newest packet
	seen    [seqWindow]bool
	// Missing counts gaps not filled (yet); Recovered the packets that
	// came after newer ones and filled a gap; Duplicates the ones that
	// came twice.
	missing, recovered, duplicates uint64
}

// add takes a packet's sequence number and reports whether it is new and
// in order (false: late, or a duplicate).
func (t *seqTracker) add(seq uint16) (inOrder bool) {
	if !t.init {
		t.init, t.highest = true, uint64(seq)+1<<16 // room below for late packets
		t.seen[t.highest%seqWindow] = true
		return true
	}
	// Extend seq to the value nearest the newest.
	ext := t.highest&^0xffff | uint64(seq)
	switch {
	case ext+1<<15 < t.highest:
		ext += 1 << 16
	case ext > t.highest+1<<15:
		ext -= 1 << 16
	}
	if ext > t.highest {
		gap := ext - t.highest - 1
		// The window keeps the newest seqWindow numbers.
		for s := max(t.highest+1, ext-(seqWindow-1)); s < ext; s++ {
			t.seen[s%seqWindow] = false
		}
		t.missing += gap
		t.highest = ext
		t.seen[ext%seqWindow] = true
		return true
	}
	if t.highest-ext >= seqWindow {
		t.duplicates++ // too old to tell; count it as a duplicate
		return false
	}
	if t.seen[ext%seqWindow] {
		t.duplicates++
		return false
	}
	t.seen[ext%seqWindow] = true
	t.missing--
	t.recovered++
	return false
}
