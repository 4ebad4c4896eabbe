package mdns

import (
	"slices"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Minimum spacing of multicast answers for one record on one interface
// (RFC 6762 §6), shorter when the question is a probe.
const (
	mcastSpacing      = time.Second
	probeReplySpacing = 250 * time.Millisecond
)

// handlePacket processes one received datagram. It never panics on bad
// input: a damaged packet is used as far as it parsed.
func (r *Responder) handlePacket(p Packet) {
	m, err := parseMessage(p.Data)
	if err != nil {
		r.log.Debug("mdns: bad packet", "src", p.Src, "err", err)
	}
	// §18.3, §18.11: only standard queries and responses without error.
	if m.Header.OpCode != 0 || m.Header.RCode != dnsmessage.RCodeSuccess {
		return
	}
	now := r.clock.Now()
	r.mu.Lock()
	ifi, ok := r.ifaces[p.IfIndex]
	if !ok {
		r.mu.Unlock()
		return
	}
	var out []outPacket
	wake := false
	if m.Header.Response {
		// §6: responses come from port 5353; anything else is not mDNS.
		if p.Src.Port() == mdnsPort {
			wake = r.checkResponseLocked(m)
			r.cache.addPacket(now, append(m.Answers, m.Additionals...), r.id.instanceName(serviceCamd))
		}
	} else if r.phase == phaseProbe {
		wake = r.tiebreakLocked(ifi, m)
	} else {
		out = r.answerLocked(now, p, ifi, m)
	}
	r.mu.Unlock()
	r.send(out)
	if wake {
		r.signal()
	}
}

// answerLocked answers a query: by unicast for legacy resolvers (§6.7),
// QU questions (§5.4) and direct unicast queries, otherwise by multicast
// on the interface the query came in on.
func (r *Responder) answerLocked(now time.Time, p Packet, ifi Interface, m message) []outPacket {
	legacy := p.Src.Port() != mdnsPort
	direct := p.Dst.IsValid() && !p.Dst.IsMulticast()
	ours := r.id.records(ifi.Addrs)
	spacing := mcastSpacing
	if len(m.Authorities) > 0 {
		spacing = probeReplySpacing
	}
	var ucast, mcast []record
	for _, q := range m.Questions {
		qclass := q.Class &^ classTopBit
		if qclass != dnsmessage.ClassINET && qclass != dnsmessage.ClassANY {
			continue
		}
		for _, rec := range ours {
			if !nameIs(rec.Name, q.Name.String()) || (q.Type != dnsmessage.TypeALL && q.Type != rec.Type) {
				continue
			}
			if knownAnswer(rec, m.Answers) {
				continue
			}
			if legacy || direct || q.Class&classTopBit != 0 {
				ucast = appendNew(ucast, rec)
				continue
			}
			k := mcastKey(ifi.Index, rec)
			if last, ok := r.lastMcast[k]; ok && now.Sub(last) < spacing {
				continue
			}
			r.lastMcast[k] = now
			mcast = appendNew(mcast, rec)
		}
	}
	var out []outPacket
	if len(ucast) > 0 {
		h := dnsmessage.Header{Response: true, Authoritative: true}
		var qs []dnsmessage.Question
		answers, extra := ucast, additionals(ucast, ours, m.Answers)
		if legacy {
			h.ID, qs = m.Header.ID, m.Questions
			answers, extra = withTTL(answers, legacyTTL, true), withTTL(extra, legacyTTL, true)
		}
		if b, err := packMessage(h, qs, answers, nil, extra); err == nil {
			out = append(out, outPacket{b, p.Src, ifi.Index})
		} else {
			r.log.Warn("mdns: packing an answer", "err", err)
		}
	}
	if len(mcast) > 0 {
		h := dnsmessage.Header{Response: true, Authoritative: true}
		if b, err := packMessage(h, nil, mcast, nil, additionals(mcast, ours, m.Answers)); err == nil {
			group := GroupV4
			if p.Src.Addr().Is6() && !p.Src.Addr().Is4In6() {
				group = GroupV6
			}
			out = append(out, outPacket{b, group, ifi.Index})
		} else {
			r.log.Warn("mdns: packing an answer", "err", err)
		}
	}
	return out
}

// knownAnswer reports whether the asker listed rec with at least half its
// TTL left (§7.1).
func knownAnswer(rec record, known []record) bool {
	return slices.ContainsFunc(known, func(k record) bool { return k.same(rec) && k.TTL >= rec.TTL/2 })
}

func appendNew(recs []record, rec record) []record {
	if slices.ContainsFunc(recs, rec.same) {
		return recs
	}
	return append(recs, rec)
}

// additionals returns the records that save the asker a round trip (RFC
// 6763 §12, RFC 6762 §6.2): SRV, TXT and addresses for a PTR, addresses
// for an SRV, the other family for an address.
func additionals(answers, ours, known []record) []record {
	type want struct {
		name string
		t    dnsmessage.Type
	}
	var wants []want
	host := func(name string) {
		wants = append(wants, want{name, dnsmessage.TypeA}, want{name, dnsmessage.TypeAAAA})
	}
	for _, a := range answers {
		switch a.Type {
		case dnsmessage.TypePTR:
			wants = append(wants, want{a.Target, dnsmessage.TypeSRV}, want{a.Target, dnsmessage.TypeTXT})
			for _, o := range ours {
				if o.Type == dnsmessage.TypeSRV && nameIs(o.Name, a.Target) {
					host(o.Target)
				}
			}
		case dnsmessage.TypeSRV:
			host(a.Target)
		case dnsmessage.TypeA, dnsmessage.TypeAAAA:
			host(a.Name)
		}
	}
	var out []record
	for _, o := range ours {
		if !slices.ContainsFunc(wants, func(w want) bool { return w.t == o.Type && nameIs(w.name, o.Name) }) {
			continue
		}
		if slices.ContainsFunc(answers, o.same) || knownAnswer(o, known) {
			continue
		}
		out = appendNew(out, o)
	}
	return out
}
