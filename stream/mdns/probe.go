package mdns

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/dns/dnsmessage"
)

// probeTickLocked advances probing (RFC 6762 §8.1): three probes 250 ms
// apart, and the names are ours if nobody objects within 250 ms of the
// last one.
func (r *Responder) probeTickLocked(now time.Time) []outPacket {
	if r.conflictHost || r.conflictInst {
		r.renameLocked(now)
	}
	if r.lostTie {
		r.lostTie = false
		r.step, r.next = 0, now.Add(tiebreakWait)
	}
	r.reprobe = false
	if now.Before(r.next) {
		return nil
	}
	if r.step < probeCount {
		out := r.probeLocked(r.step == 0)
		r.step++
		r.next = now.Add(probeWait)
		return out
	}
	r.phase, r.step, r.next = phaseAnnounce, 0, now
	r.log.Info("mdns: claimed", "name", trimDomain(r.id.host)+".local", "instance", r.id.instance)
	return nil
}

// probeLocked asks for our names with type ANY, proposing our records in
// the authority section; the first probe asks for unicast replies.
func (r *Responder) probeLocked(unicast bool) []outPacket {
	var qs []dnsmessage.Question
	for _, n := range r.id.uniqueNames() {
		qs = append(qs, question(n, dnsmessage.TypeALL, unicast))
	}
	var out []outPacket
	for _, ifi := range r.allIfaces() {
		b, err := packMessage(dnsmessage.Header{}, qs, nil, r.proposedLocked(ifi), nil)
		if err != nil {
			r.log.Warn("mdns: packing a probe", "err", err)
			continue
		}
		out = append(out, groupPackets(ifi, b)...)
	}
	return out
}

// proposedLocked returns the unique records probed for on ifi.
func (r *Responder) proposedLocked(ifi Interface) []record {
	recs := r.id.hostRecords(ifi.Addrs)
	for _, s := range services {
		recs = append(recs, r.id.serviceRecords(s)...)
	}
	return recs
}

// renameLocked picks the next name for whatever was in conflict and
// starts probing again, pausing after too many conflicts (§8.1).
func (r *Responder) renameLocked(now time.Time) {
	r.conflicts = slices.DeleteFunc(r.conflicts, func(t time.Time) bool { return now.Sub(t) >= conflictWindow })
	r.conflicts = append(r.conflicts, now)
	if r.conflictHost {
		old := r.id.host
		r.hostN++
		r.id.host = hostLabel(r.cfg.name, r.hostN) + "." + domain
		r.log.Warn("mdns: name already in use on the network, trying another",
			"name", trimDomain(old)+".local", "next", trimDomain(r.id.host)+".local")
	}
	if r.conflictInst {
		old := r.id.instance
		r.instN++
		r.id.instance = instanceLabel(r.cfg.instance, r.instN)
		r.log.Warn("mdns: service instance name already in use, trying another", "instance", old, "next", r.id.instance)
	}
	r.conflictHost, r.conflictInst = false, false
	r.step, r.next = 0, now
	if len(r.conflicts) >= conflictLimit {
		r.next = now.Add(conflictPause)
	}
}

// hostLabel returns base, or base-n for n > 1, within 63 bytes.
func hostLabel(base string, n int) string {
	if n <= 1 {
		return base
	}
	suffix := "-" + strconv.Itoa(n)
	if len(base)+len(suffix) > 63 {
		base = strings.TrimRight(base[:63-len(suffix)], "-")
	}
	return base + suffix
}

// instanceLabel returns base, or "base (n)" for n > 1 (RFC 6763 §4.1),
// within 63 bytes.
func instanceLabel(base string, n int) string {
	if n <= 1 {
		return base
	}
	suffix := " (" + strconv.Itoa(n) + ")"
	for len(base)+len(suffix) > 63 {
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
	return base + suffix
}

// checkResponseLocked looks for records that contradict ours (§8.1 while
// probing, §9 afterwards) and for our records announced with a low TTL
// by someone else (§6.6). It reports whether the loop must wake.
func (r *Responder) checkResponseLocked(m message) bool {
	var all []record
	wake := false
	for _, rec := range m.Answers {
		isHost := nameIs(rec.Name, r.id.host)
		isInst := nameIs(rec.Name, r.id.instanceName(serviceHTTP)) || nameIs(rec.Name, r.id.instanceName(serviceCamd))
		if !isHost && !isInst {
			continue
		}
		if all == nil {
			all = r.allRecordsLocked()
		}
		if i := slices.IndexFunc(all, rec.same); i >= 0 {
			if r.phase == phaseRun && rec.TTL < all[i].TTL/2 {
				r.defend, wake = true, true
			}
			continue
		}
		if rec.TTL == 0 {
			continue // a goodbye, maybe our own for an address we dropped
		}
		switch {
		case r.phase == phaseProbe && isHost:
			r.conflictHost, wake = true, true
		case r.phase == phaseProbe:
			r.conflictInst, wake = true, true
		case isHost && (rec.Type == dnsmessage.TypeA || rec.Type == dnsmessage.TypeAAAA),
			isInst && (rec.Type == dnsmessage.TypeSRV || rec.Type == dnsmessage.TypeTXT):
			r.log.Warn("mdns: another host answers for our name, probing again", "name", rec.Name, "type", rec.Type)
			r.reprobe, wake = true, true
		}
	}
	return wake
}

// tiebreakLocked handles a probe from someone else for one of our names
// while we probe too (§8.2): the lexicographically later records win and
// the loser waits a second before probing again.
func (r *Responder) tiebreakLocked(ifi Interface, m message) bool {
	if len(m.Authorities) == 0 {
		return false
	}
	all := r.allRecordsLocked()
	proposed := r.proposedLocked(ifi)
	for _, name := range r.id.uniqueNames() {
		theirs := byName(m.Authorities, name)
		if len(theirs) == 0 {
			continue
		}
		if !slices.ContainsFunc(theirs, func(t record) bool { return !slices.ContainsFunc(all, t.same) }) {
			continue // our own probe, or the very same records
		}
		if compareSets(byName(proposed, name), theirs) < 0 {
			r.lostTie = true
			return true
		}
	}
	return false
}

func byName(recs []record, name string) []record {
	var out []record
	for _, rec := range recs {
		if nameIs(rec.Name, name) {
			out = append(out, rec)
		}
	}
	return out
}

// compareSets compares sorted record sets record by record; a set that
// runs out first is the earlier one (§8.2.1).
func compareSets(a, b []record) int {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, compareRecords)
	slices.SortFunc(b, compareRecords)
	for i := range min(len(a), len(b)) {
		if c := compareRecords(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}
