// Package nettest proves that camd's bitrate follows its viewers'
// networks, on real links with real viewers: camd in one network
// namespace, headless Chromium and the Go WHEP client (cmd/netwhep) each in
// their own, every viewer behind a veth pair whose camd side is rate
// limited with a token bucket (tc tbf; this kernel has no netem).
//
// TestLinkStep steps both links 10 → 1 → 10 Mbit/s and checks that the
// encoder target drops below the link within 2 s, that loss stays under
// 2 % and Chromium keeps decoding from 3 s after the step, and that the
// target is back to 80 % of its earlier value within 10 s of the lift.
// TestOneSlowViewer constrains one viewer of two and checks the policy:
// the target follows the slow viewer down to the floor and no further, the
// viewer below the floor is reported, and the fast one plays on.
// TestBlackholedViewer takes one of three Go viewers' links down (camd's
// packets to it vanish without an error) and checks that the other two
// keep their frame rate without loss and that the dark session is reaped
// when ICE gives up.
//
// Each test writes its time series (link rates, encoder target, each
// viewer's estimate and received rate) as CSV and as a PNG chart into
// $CAMD_NETTEST_OUT (default: a new temporary directory) and logs where.
// It needs root; without root it skips, except in CI (CI set), where that
// is a failure. Addresses are 10.96.<n>.0/24, one per viewer, inside the
// test's own namespaces; nothing else is touched.
//
//	go test -v ./scripts/nettest/
package nettest
