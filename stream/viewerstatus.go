package stream

import "time"

// ViewerStatus describes one viewer for /api/status.
type ViewerStatus struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"` // "whep" (a viewer) or "whip" (camd's push)
	Remote    string    `json:"remote"`
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	SetupMs   float64   `json:"setup_ms,omitempty"` // POST to connected
	Packets   uint64    `json:"packets"`
	Bytes     uint64    `json:"bytes"`
	PLI       uint64    `json:"pli"`
	FIR       uint64    `json:"fir"`
	Delivered uint64    `json:"access_units"`
	Dropped   uint64    `json:"dropped"`
	Skipped   uint64    `json:"skipped"`

	// EstimateBps is the viewer's estimated available bitrate, 0 when
	// unknown; EstimateSource says where it comes from: "twcc" (GCC on
	// transport-wide feedback), "remb", or "" (the viewer sends neither,
	// or nothing lately).
	EstimateBps    int    `json:"estimate_bps"`
	EstimateSource string `json:"estimate_source"`
	// BelowFloor is set while the estimate has stayed below the policy's
	// floor: this viewer's network cannot carry the lowest bitrate camd
	// will send.
	BelowFloor bool `json:"below_floor"`
	// Loss is the share of packets lost in the viewer's last receiver
	// report, LostPackets the total it reported; RTTMs the round trip
	// from its reports (0 until known).
	Loss        float64 `json:"loss"`
	LostPackets int64   `json:"lost_packets"`
	RTTMs       float64 `json:"rtt_ms"`
	// NACKs counts the viewer's NACK messages, NACKedPackets the packets
	// they asked for, Retransmits the packets sent again, Unrepaired those
	// camd could not send again in time (no longer kept, or over the
	// retransmission budget), each answered with a keyframe request.
	NACKs         uint64 `json:"nacks"`
	NACKedPackets uint64 `json:"nacked_packets"`
	Retransmits   uint64 `json:"retransmits"`
	Unrepaired    uint64 `json:"unrepaired_packets"`
	// Probes counts probe clusters, ProbesUp those that raised the
	// estimate, PaddingBytes what their padding cost.
	Probes       uint64 `json:"probes"`
	ProbesUp     uint64 `json:"probes_up"`
	PaddingBytes uint64 `json:"padding_bytes"`
}

func (s *session) status() ViewerStatus {
	s.mu.Lock()
	v := ViewerStatus{
		ID: s.id, Kind: s.kind, Remote: s.remote, State: s.pc.ConnectionState().String(), Since: s.created,
		Packets: s.packets.Load(), Bytes: s.bytes.Load(), PLI: s.pli.Load(), FIR: s.fir.Load(),
		NACKs: s.nacks.Load(), NACKedPackets: s.nacked.Load(), Unrepaired: s.unrepaired.Load(),
	}
	if !s.connected.IsZero() {
		v.SetupMs = float64(s.connected.Sub(s.created).Microseconds()) / 1000
	}
	if s.sub != nil {
		st := s.sub.Stats()
		v.Delivered, v.Dropped, v.Skipped = st.Delivered, st.Dropped, st.Skipped
	}
	s.mu.Unlock()
	frac, lost, rtt := s.rx.snapshot()
	v.Loss, v.LostPackets, v.RTTMs = frac, lost, float64(rtt.Microseconds())/1000
	if s.bwe != nil {
		b := s.bwe.stats()
		v.EstimateBps, v.EstimateSource = b.Estimate, b.Source
		v.Retransmits, v.Probes, v.ProbesUp, v.PaddingBytes = b.Retransmits, b.Probes, b.ProbesOK, b.PaddingBytes
	}
	return v
}

// isConnected reports whether the viewer is up and not closed.
func (s *session) isConnected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && !s.connected.IsZero()
}
