package mdns

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Peer is another camd instance found with DNS-SD.
type Peer struct {
	Instance string            `json:"instance"` // "camd on pi"
	Host     string            `json:"host"`     // "camd-2.local"
	Port     int               `json:"port"`
	Addrs    []netip.Addr      `json:"addrs"`
	TXT      map[string]string `json:"txt"`
}

// goodbyeGrace is how long a record lives after a goodbye or a
// cache-flush (RFC 6762 §10.1, §10.2).
const goodbyeGrace = time.Second

type cacheEntry struct {
	rec       record
	received  time.Time
	expires   time.Time
	refreshes int  // refresh queries sent, at 80, 85, 90 and 95 % of the TTL (§5.2)
	goodbye   bool // the owner said goodbye; hidden from Peers
}

// cache holds the records of other camd instances.
type cache struct {
	max     int
	entries map[string]*cacheEntry
}

func newCache(max int) *cache { return &cache{max: max, entries: map[string]*cacheEntry{}} }

// relevant reports whether rec describes a camd instance (PTR, SRV, TXT);
// addresses are kept only for the hosts such SRV records name.
func relevant(rec record) bool {
	switch rec.Type {
	case dnsmessage.TypePTR:
		return nameIs(rec.Name, serviceCamd)
	case dnsmessage.TypeSRV, dnsmessage.TypeTXT:
		return hasSuffixFold(rec.Name, "."+serviceCamd)
	}
	return false
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) > len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// addPacket caches the records of one response; self is our own camd
// instance name, which is never cached.
func (c *cache) addPacket(now time.Time, recs []record, self string) {
	for _, rec := range recs {
		if relevant(rec) && !nameIs(rec.Name, self) && !(rec.Type == dnsmessage.TypePTR && nameIs(rec.Target, self)) {
			c.add(now, rec)
		}
	}
	for _, rec := range recs {
		if (rec.Type == dnsmessage.TypeA || rec.Type == dnsmessage.TypeAAAA) && c.isTarget(rec.Name) {
			c.add(now, rec)
		}
	}
}

func (c *cache) isTarget(host string) bool {
	for _, e := range c.entries {
		if e.rec.Type == dnsmessage.TypeSRV && nameIs(e.rec.Target, host) {
			return true
		}
	}
	return false
}

func (c *cache) add(now time.Time, rec record) {
	k := rec.key()
	if rec.Flush {
		// §10.2: other data for this name and type received more than a
		// second ago is stale.
		for ok, e := range c.entries {
			if ok != k && e.rec.Type == rec.Type && nameIs(e.rec.Name, rec.Name) && now.Sub(e.received) > goodbyeGrace {
				e.expires = minTime(e.expires, now.Add(goodbyeGrace))
			}
		}
	}
	e, ok := c.entries[k]
	if rec.TTL == 0 {
		if ok {
			e.expires, e.goodbye = minTime(e.expires, now.Add(goodbyeGrace)), true
		}
		return
	}
	if !ok {
		if len(c.entries) >= c.max {
			c.evict()
		}
		e = &cacheEntry{}
		c.entries[k] = e
	}
	*e = cacheEntry{rec: rec, received: now, expires: now.Add(time.Duration(rec.TTL) * time.Second)}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// evict drops the entry closest to expiry.
func (c *cache) evict() {
	var victim string
	var at time.Time
	for k, e := range c.entries {
		if victim == "" || e.expires.Before(at) {
			victim, at = k, e.expires
		}
	}
	delete(c.entries, victim)
}

// refreshAt is when the entry's next refresh query is due.
func (e *cacheEntry) refreshAt() (time.Time, bool) {
	if e.goodbye || e.refreshes >= 4 {
		return time.Time{}, false
	}
	ttl := e.expires.Sub(e.received)
	return e.received.Add(ttl * time.Duration(80+5*e.refreshes) / 100), true
}

// expire drops dead entries and returns those due for a refresh query.
func (c *cache) expire(now time.Time) []record {
	var due []record
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
			continue
		}
		if at, ok := e.refreshAt(); ok && !now.Before(at) {
			for ok && !now.Before(at) {
				e.refreshes++
				at, ok = e.refreshAt()
			}
			due = append(due, e.rec)
		}
	}
	return due
}

// nextEvent is the earliest expiry or refresh.
func (c *cache) nextEvent() (time.Time, bool) {
	var t time.Time
	found := false
	for _, e := range c.entries {
		at := e.expires
		if r, ok := e.refreshAt(); ok && r.Before(at) {
			at = r
		}
		if !found || at.Before(t) {
			t, found = at, true
		}
	}
	return t, found
}

// knownPTRs returns the instances we know with at least half their TTL
// left, for known-answer suppression in our queries (§7.1).
func (c *cache) knownPTRs(now time.Time) []record {
	var out []record
	for _, e := range c.entries {
		if e.rec.Type != dnsmessage.TypePTR || e.goodbye {
			continue
		}
		left := e.expires.Sub(now)
		if total := e.expires.Sub(e.received); left*2 < total {
			continue
		}
		rec := e.rec
		rec.TTL = uint32(left / time.Second)
		out = append(out, rec)
	}
	return out
}

// peers assembles PTR, SRV, TXT and addresses into Peers.
func (c *cache) peers(now time.Time, self string) []Peer {
	live := func(yield func(record) bool) {
		for _, e := range c.entries {
			if !e.goodbye && now.Before(e.expires) && !yield(e.rec) {
				return
			}
		}
	}
	var out []Peer
	for ptr := range live {
		if ptr.Type != dnsmessage.TypePTR || !nameIs(ptr.Name, serviceCamd) || !hasSuffixFold(ptr.Target, "."+serviceCamd) || nameIs(ptr.Target, self) {
			continue
		}
		p := Peer{Instance: strings.TrimSuffix(ptr.Target[:len(ptr.Target)-len(serviceCamd)], ".")}
		var srv record
		for rec := range live {
			switch {
			case !nameIs(rec.Name, ptr.Target):
			case rec.Type == dnsmessage.TypeSRV:
				srv = rec
			case rec.Type == dnsmessage.TypeTXT:
				p.TXT = parseTXT(rec.Text)
			}
		}
		if srv.Target == "" || slices.ContainsFunc(out, func(o Peer) bool { return o.Instance == p.Instance }) {
			continue
		}
		p.Host, p.Port = strings.TrimSuffix(srv.Target, "."), int(srv.Port)
		for rec := range live {
			if (rec.Type == dnsmessage.TypeA || rec.Type == dnsmessage.TypeAAAA) && nameIs(rec.Name, srv.Target) {
				p.Addrs = append(p.Addrs, rec.Addr)
			}
		}
		slices.SortFunc(p.Addrs, netip.Addr.Compare)
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Peer) int { return strings.Compare(a.Instance, b.Instance) })
	return out
}

// parseTXT reads key=value strings (RFC 6763 §6.3): the first occurrence
// of a key wins, a key without '=' has an empty value.
func parseTXT(txt []string) map[string]string {
	m := map[string]string{}
	for _, s := range txt {
		k, v, _ := strings.Cut(s, "=")
		if k == "" {
			continue
		}
		k = strings.ToLower(k)
		if _, dup := m[k]; !dup {
			m[k] = v
		}
	}
	return m
}
