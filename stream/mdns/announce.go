package mdns

import (
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// packetsLocked packs a response (or a query when response is false)
// carrying answers with TTL ttl (-1 keeps each record's own) for every
// family the interface has an address in.
func (r *Responder) packetsLocked(ifi Interface, response bool, answers []record, ttl int) []outPacket {
	if ttl >= 0 {
		answers = withTTL(answers, uint32(ttl), false)
	}
	b, err := packMessage(dnsmessage.Header{Response: response, Authoritative: response}, nil, answers, nil, nil)
	if err != nil {
		r.log.Warn("mdns: packing", "err", err)
		return nil
	}
	return groupPackets(ifi, b)
}

// groupPackets addresses b to each group the interface can reach.
func groupPackets(ifi Interface, b []byte) []outPacket {
	var v4, v6 bool
	for _, a := range ifi.Addrs {
		v4 = v4 || a.Is4()
		v6 = v6 || a.Is6()
	}
	var out []outPacket
	if v4 {
		out = append(out, outPacket{b, GroupV4, ifi.Index})
	}
	if v6 {
		out = append(out, outPacket{b, GroupV6, ifi.Index})
	}
	return out
}

// announceLocked multicasts all records on ifaces (§8.3).
func (r *Responder) announceLocked(now time.Time, ifaces []Interface) []outPacket {
	var out []outPacket
	for _, ifi := range ifaces {
		recs := r.id.records(ifi.Addrs)
		for _, rec := range recs {
			r.lastMcast[mcastKey(ifi.Index, rec)] = now
		}
		out = append(out, r.packetsLocked(ifi, true, recs, -1)...)
	}
	r.announced, r.lastAnnounce = true, now
	return out
}

// goodbyeLocked sends every record with TTL 0 (§10.1) if any went out.
func (r *Responder) goodbyeLocked() []outPacket {
	if !r.announced {
		return nil
	}
	var out []outPacket
	for _, ifi := range r.allIfaces() {
		out = append(out, r.packetsLocked(ifi, true, r.id.records(ifi.Addrs), 0)...)
	}
	r.announced = false
	return out
}
