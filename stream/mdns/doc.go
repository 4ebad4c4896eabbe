// Package mdns makes camd findable on the LAN without configuration: it
// claims a host name such as camd.local with Multicast DNS (RFC 6762),
// advertises the web page as an _http._tcp service and camd itself as a
// _camd._tcp service with DNS-SD (RFC 6763), and keeps a live list of the
// other camd instances it hears about.
//
// A Responder probes before it claims a name (RFC 6762 §8.1) and, when
// another host already owns it, moves on to camd-2, camd-3, and so on; it
// announces its records on start and whenever the interface addresses
// change (§8.3), answers questions by multicast, by unicast for QU
// questions (§5.4) and for legacy resolvers such as dig (§6.7), suppresses
// answers the asker already knows (§7.1), and says goodbye with TTL 0
// records when it stops (§10.1).
//
// github.com/pion/mdns/v2 (v2.2.2, checked 2026-11) answers A/AAAA and
// DNS-SD questions, but it does not probe, does not resolve conflicts,
// never announces nor says goodbye, keeps one address per answer without
// the cache-flush bit, reports no removed services while browsing, and
// reads the wall clock. This package is therefore built on
// golang.org/x/net/dns/dnsmessage and golang.org/x/net/ipv4 / ipv6.
//
// Known limits: dnsmessage rejects labels that contain a dot, so instance
// names must not contain one, and records after such a label in a foreign
// packet are not read; negative answers (NSEC, §6.1) are not sent.
package mdns
