package stream

import (
	"net/netip"
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestLocalCandidate(t *testing.T) {
	for _, c := range []struct {
		in, name string
	}{
		{"candidate:1 1 udp 2122260223 4c6aecee-4b38-4879-a4ce-a03a25406ad6.local 54321 typ host generation 0", "4c6aecee-4b38-4879-a4ce-a03a25406ad6.local"},
		{"candidate:1 1 UDP 2122260223 Cam.LOCAL 1 typ host", "Cam.LOCAL"},
		{"candidate:1 1 udp 2122260223 192.168.1.5 54321 typ host", ""},
		{"candidate:2 1 udp 1686052607 x.local 54321 typ srflx raddr 0.0.0.0 rport 0", ""},
		{"candidate:1 1 udp 2122260223 .local 54321 typ host", ""},
		{"candidate:1 1 udp x.local", ""},
		{"", ""},
	} {
		name, ok := localCandidate(c.in)
		if name != c.name || ok != (c.name != "") {
			t.Errorf("localCandidate(%q) = %q, %v; want %q", c.in, name, ok, c.name)
		}
	}
	got := withAddress("candidate:1 1 udp 2122260223 a.local 54321 typ host generation 0", netip.MustParseAddr("fe80::1%eth0"))
	if want := "candidate:1 1 udp 2122260223 fe80::1 54321 typ host generation 0"; got != want {
		t.Errorf("withAddress = %q, want %q", got, want)
	}
}

func TestOfferCandidates(t *testing.T) {
	offer := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\n" +
		"a=candidate:1 1 udp 2122260223 a.local 5000 typ host\r\n" +
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n" +
		"a=candidate:2 1 udp 2122260223 10.0.0.2 5000 typ host\r\na=mid:1\r\n"
	got := offerCandidates(&webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer})
	if len(got) != 2 || got[0] != (remoteCandidate{"candidate:1 1 udp 2122260223 a.local 5000 typ host", "0"}) ||
		got[1] != (remoteCandidate{"candidate:2 1 udp 2122260223 10.0.0.2 5000 typ host", "1"}) {
		t.Fatalf("offerCandidates = %q", got)
	}
	if offerCandidates(&webrtc.SessionDescription{SDP: "garbage"}) != nil || offerCandidates(nil) != nil {
		t.Fatal("candidates from no description")
	}
}
