package mdns

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// TTLs (RFC 6762 §10): records that carry a host name live 120 s, the
// others 75 minutes.
const (
	hostTTL    = 120
	serviceTTL = 4500
	legacyTTL  = 10 // cap for legacy unicast answers (§6.7)
)

// The top bit of the class: cache-flush in records (§10.2), unicast
// response wanted in questions (§5.4).
const classTopBit = 1 << 15

const (
	domain       = "local."
	servicesEnum = "_services._dns-sd._udp.local."
	serviceHTTP  = "_http._tcp.local."
	serviceCamd  = "_camd._tcp.local."
)

var services = []string{serviceHTTP, serviceCamd}

// record is one resource record in a form that is easy to compare.
type record struct {
	Name   string // fully qualified, with the trailing dot
	Type   dnsmessage.Type
	TTL    uint32
	Flush  bool       // cache-flush bit: the record is unique
	Addr   netip.Addr // A, AAAA
	Target string     // PTR, SRV
	Port   uint16     // SRV
	Text   []string   // TXT
	Raw    []byte     // rdata of other types, as received
}

// rdata returns the record data as uncompressed wire bytes, the form that
// RFC 6762 §8.2 compares.
func (r record) rdata() []byte {
	switch r.Type {
	case dnsmessage.TypeA:
		a := r.Addr.As4()
		return a[:]
	case dnsmessage.TypeAAAA:
		a := r.Addr.As16()
		return a[:]
	case dnsmessage.TypePTR:
		return wireName(r.Target)
	case dnsmessage.TypeSRV:
		b := make([]byte, 6, 6+len(r.Target)+2)
		binary.BigEndian.PutUint16(b[4:], r.Port)
		return append(b, wireName(r.Target)...)
	case dnsmessage.TypeTXT:
		var b []byte
		for _, s := range r.Text {
			b = append(b, byte(len(s)))
			b = append(b, s...)
		}
		return b
	}
	return r.Raw
}

func wireName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if l == "" {
			continue
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// same reports whether a and b are the same record: name, type and data,
// whatever the TTL and cache-flush bit.
func (r record) same(o record) bool {
	if r.Type != o.Type || !strings.EqualFold(r.Name, o.Name) {
		return false
	}
	if r.Type == dnsmessage.TypePTR || r.Type == dnsmessage.TypeSRV {
		return r.Port == o.Port && strings.EqualFold(r.Target, o.Target)
	}
	return bytes.Equal(r.rdata(), o.rdata())
}

// key identifies a record for caches and rate limits.
func (r record) key() string {
	d := r.rdata()
	if r.Type == dnsmessage.TypePTR || r.Type == dnsmessage.TypeSRV {
		d = bytes.ToLower(d)
	}
	return strings.ToLower(r.Name) + "\x00" + r.Type.String() + "\x00" + string(d)
}

// compareRecords orders records for the probe tiebreak (RFC 6762 §8.2):
// class, then type, then raw rdata.
func compareRecords(a, b record) int {
	if c := cmp.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return bytes.Compare(a.rdata(), b.rdata())
}

func nameIs(a, b string) bool { return strings.EqualFold(a, b) }

func (r record) resource() (dnsmessage.Resource, dnsmessage.ResourceBody) {
	class := dnsmessage.ClassINET
	if r.Flush {
		class |= classTopBit
	}
	h := dnsmessage.ResourceHeader{Name: mustName(r.Name), Type: r.Type, Class: class, TTL: r.TTL}
	var body dnsmessage.ResourceBody
	switch r.Type {
	case dnsmessage.TypeA:
		body = &dnsmessage.AResource{A: r.Addr.As4()}
	case dnsmessage.TypeAAAA:
		body = &dnsmessage.AAAAResource{AAAA: r.Addr.As16()}
	case dnsmessage.TypePTR:
		body = &dnsmessage.PTRResource{PTR: mustName(r.Target)}
	case dnsmessage.TypeSRV:
		body = &dnsmessage.SRVResource{Target: mustName(r.Target), Port: r.Port}
	case dnsmessage.TypeTXT:
		txt := r.Text
		if len(txt) == 0 {
			txt = []string{""} // RFC 6763 §6.1: never empty rdata
		}
		body = &dnsmessage.TXTResource{TXT: txt}
	default:
		body = &dnsmessage.UnknownResource{Type: r.Type, Data: r.Raw}
	}
	return dnsmessage.Resource{Header: h, Body: body}, body
}

// mustName converts a name already checked to be at most 255 bytes.
func mustName(s string) dnsmessage.Name {
	n, err := dnsmessage.NewName(s)
	if err != nil {
		return dnsmessage.Name{}
	}
	return n
}

// fromResource converts a parsed resource; ok is false for classes other
// than IN.
func fromResource(res dnsmessage.Resource) (record, bool) {
	if res.Header.Class&^classTopBit != dnsmessage.ClassINET {
		return record{}, false
	}
	r := record{
		Name:  res.Header.Name.String(),
		Type:  res.Header.Type,
		TTL:   res.Header.TTL,
		Flush: res.Header.Class&classTopBit != 0,
	}
	switch b := res.Body.(type) {
	case *dnsmessage.AResource:
		r.Addr = netip.AddrFrom4(b.A)
	case *dnsmessage.AAAAResource:
		r.Addr = netip.AddrFrom16(b.AAAA)
	case *dnsmessage.PTRResource:
		r.Target = b.PTR.String()
	case *dnsmessage.SRVResource:
		r.Target, r.Port = b.Target.String(), b.Port
	case *dnsmessage.TXTResource:
		r.Text = b.TXT
	case *dnsmessage.UnknownResource:
		r.Raw = b.Data
	default:
		r.Raw = []byte(res.Body.GoString())
	}
	return r, true
}

// identity is what a Responder publishes, apart from addresses.
type identity struct {
	host     string // "camd.local."
	instance string // "camd on pi"
	port     uint16
	txt      []string
}

func (id identity) instanceName(service string) string { return id.instance + "." + service }

// hostRecords returns the A and AAAA records for addrs.
func (id identity) hostRecords(addrs []netip.Addr) []record {
	var out []record
	for _, a := range addrs {
		r := record{Name: id.host, TTL: hostTTL, Flush: true, Addr: a.WithZone("")}
		if a.Is4() {
			r.Type = dnsmessage.TypeA
		} else {
			r.Type = dnsmessage.TypeAAAA
		}
		out = append(out, r)
	}
	return out
}

// serviceRecords returns the unique SRV and TXT records of one service.
func (id identity) serviceRecords(service string) []record {
	inst := id.instanceName(service)
	return []record{
		{Name: inst, Type: dnsmessage.TypeSRV, TTL: hostTTL, Flush: true, Target: id.host, Port: id.port},
		{Name: inst, Type: dnsmessage.TypeTXT, TTL: serviceTTL, Flush: true, Text: id.txt},
	}
}

// sharedRecords returns the PTR records: the service's instance and the
// service type enumeration (RFC 6763 §9).
func (id identity) sharedRecords(service string) []record {
	return []record{
		{Name: service, Type: dnsmessage.TypePTR, TTL: serviceTTL, Target: id.instanceName(service)},
		{Name: servicesEnum, Type: dnsmessage.TypePTR, TTL: serviceTTL, Target: service},
	}
}

// records returns everything published on an interface with addrs.
func (id identity) records(addrs []netip.Addr) []record {
	out := id.hostRecords(addrs)
	for _, s := range services {
		out = append(out, id.serviceRecords(s)...)
		out = append(out, id.sharedRecords(s)...)
	}
	return out
}

// uniqueNames are the names a Responder probes for.
func (id identity) uniqueNames() []string {
	return []string{id.host, id.instanceName(serviceHTTP), id.instanceName(serviceCamd)}
}

// withTTL returns copies of recs with the TTL set to ttl (capped when
// ttl is larger than a record's own) and, for legacy answers, without the
// cache-flush bit.
func withTTL(recs []record, ttl uint32, legacy bool) []record {
	out := make([]record, len(recs))
	for i, r := range recs {
		r.TTL = min(r.TTL, ttl)
		if legacy {
			r.Flush = false
		}
		out[i] = r
	}
	return out
}
