// Package lantest checks camd's mDNS responder (stream/mdns) on a real,
// if small, network: two network namespaces joined by a veth pair, the
// responder in one, Debian's dig and tcpdump in the other. It needs root;
// without root it skips, except in CI (CI set) where that is a failure.
// It installs bind9-dnsutils and tcpdump with apt-get when they are
// missing. The addresses are 10.99.0.1 and 10.99.0.2 (plus the link-local
// IPv6 addresses the kernel gives the veth pair); nothing else is touched.
//
//	go test -v ./scripts/lantest/
package lantest
