package mdns

import (
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Peers returns the other camd instances currently known, sorted by
// instance name. An instance disappears one second after its goodbye, or
// when its records expire unanswered.
func (r *Responder) Peers() []Peer {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cache.peers(now, r.id.instanceName(serviceCamd))
}

// browseTickLocked sends the continuous _camd._tcp query (RFC 6762 §5.2:
// intervals doubling from one second to an hour, with known answers) and
// the refresh queries for cached records near the end of their TTL.
func (r *Responder) browseTickLocked(now time.Time) []outPacket {
	var qs []dnsmessage.Question
	var known []record
	if !now.Before(r.browseAt) {
		qs = append(qs, question(serviceCamd, dnsmessage.TypePTR, false))
		known = r.cache.knownPTRs(now)
		r.browseAt = now.Add(r.browseEvery)
		r.browseEvery = min(2*r.browseEvery, maxBrowseEvery)
	}
	for _, rec := range r.cache.expire(now) {
		q := question(rec.Name, rec.Type, false)
		dup := false
		for _, o := range qs {
			dup = dup || o == q
		}
		if !dup {
			qs = append(qs, q)
		}
	}
	if len(qs) == 0 {
		return nil
	}
	b, err := packMessage(dnsmessage.Header{}, qs, known, nil, nil)
	if err != nil {
		r.log.Warn("mdns: packing a query", "err", err)
		return nil
	}
	var out []outPacket
	for _, ifi := range r.allIfaces() {
		out = append(out, groupPackets(ifi, b)...)
	}
	return out
}
