package stream

import (
	"time"

	"github.com/pion/rtcp"
)

// Transport-wide congestion control feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): the viewer
// reports, per transport-wide sequence number, whether the packet came and
// when. pion's GCC reads it too; camd reads it again to measure probes,
// whose padding GCC does not count, and the loss of each viewer.

// twccURI is the RTP header extension that carries the sequence number.
const twccURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

// twccArrival is one packet status from a feedback message.
type twccArrival struct {
	seq      uint16
	received bool
	at       time.Duration // arrival on the viewer's feedback clock; 0 if lost
}

// twccClock unwraps the 24-bit reference time (units of 64 ms) of
// successive feedback messages onto one timeline.
type twccClock struct {
	ref  int64
	init bool
}

// parseTWCC lists the packet statuses of fb in sequence order. Statuses
// beyond PacketStatusCount are chunk padding and are dropped; a message
// with fewer deltas than received packets is cut where the deltas end.
func (c *twccClock) parseTWCC(fb *rtcp.TransportLayerCC, out []twccArrival) []twccArrival {
	ref := int64(fb.ReferenceTime & 0xffffff)
	if c.init {
		delta := (ref-c.ref+(1<<23))&0xffffff - (1 << 23)
		ref = c.ref + delta
	}
	c.ref, c.init = ref, true
	at := time.Duration(ref) * 64 * time.Millisecond
	seq := fb.BaseSequenceNumber
	left := int(fb.PacketStatusCount)
	deltas := fb.RecvDeltas
	status := func(sym uint16) bool {
		received := sym == rtcp.TypeTCCPacketReceivedSmallDelta || sym == rtcp.TypeTCCPacketReceivedLargeDelta
		a := twccArrival{seq: seq, received: received}
		if received {
			if len(deltas) == 0 {
				return false
			}
			at += time.Duration(deltas[0].Delta) * time.Microsecond
			deltas = deltas[1:]
			a.at = at
		}
		out = append(out, a)
		seq++
		left--
		return true
	}
	for _, ch := range fb.PacketChunks {
		switch ch := ch.(type) {
		case *rtcp.RunLengthChunk:
			for i := 0; i < int(ch.RunLength) && left > 0; i++ {
				if !status(ch.PacketStatusSymbol) {
					return out
				}
			}
		case *rtcp.StatusVectorChunk:
			for _, sym := range ch.SymbolList {
				if left <= 0 || !status(sym) {
					return out
				}
			}
		}
		if left <= 0 {
			break
		}
	}
	return out
}

// sentPacket is what camd remembers of a packet it sent, by transport-wide
// sequence number, until feedback reports on it.
// It is kept small (32 bytes): every viewer has sendLogSize of them.
type sentPacket struct {
	at       int64         // sent, Unix nanoseconds
	arrival  time.Duration // on the viewer's feedback clock
	size     int32         // bytes on the wire above UDP (RTP header, payload, padding)
	cluster  uint32        // probe cluster, 0 for none
	seq      uint16
	used     bool
	reported bool
	received bool
}

// sendLogSize bounds the packets awaiting feedback: 0.7 s of an 8 Mbit/s
// stream while it probes (2800 packets a second with padding); feedback
// comes every 50 to 250 ms.
const sendLogSize = 2048

// sendLog is a ring of sent packets indexed by sequence number.
type sendLog struct {
	ring [sendLogSize]sentPacket
}

func (l *sendLog) add(p sentPacket) {
	p.used = true
	l.ring[int(p.seq)%sendLogSize] = p
}

// get returns the packet with seq, or nil when it was never logged or was
// overwritten since.
func (l *sendLog) get(seq uint16) *sentPacket {
	p := &l.ring[int(seq)%sendLogSize]
	if !p.used || p.seq != seq {
		return nil
	}
	return p
}

// probeResult is what a probe cluster showed about the path.
type probeResult struct {
	sent, received int
	sendRate       int // bits per second the cluster went out at
	recvRate       int // bits per second it arrived at
	// Rate is what the path carries: the lower of the two while the path
	// kept up, else just under what arrived.
	Rate int
	// Saturated means the path did not keep up with the probe.
	Saturated bool
}

// Probe evaluation, after libwebrtc's ProbeBitrateEstimator
// (modules/congestion_controller/goog_cc/probe_bitrate_estimator.cc).
// libwebrtc calls a path unsaturated when the arrival rate is at least 0.9
// of the send rate; camd asks 0.95: its probes are short and ride on the
// video, and on the network test (2026-11) free paths measured 0.98 to
// 1.0 while a probe just over a 1 Mbit/s bottleneck measured 0.91, which
// at 0.9 would have raised the estimate to the bottleneck itself.
const (
	probeMinPackets     = 5
	probeMinReceived    = 0.80 // of the cluster's packets
	probeUnsaturated    = 0.95 // arrival rate at least this much of the send rate
	probeTargetFraction = 0.95 // of the arrival rate when saturated
	probeMaxInterval    = time.Second
)

// evalProbe measures a probe cluster from its packets (all reported on by
// feedback). ok is false when the cluster says nothing reliable: too few
// packets, too much loss, or intervals that make no sense.
func evalProbe(pkts []*sentPacket) (r probeResult, ok bool) {
	var first, last *sentPacket     // by send time
	var firstRx, lastRx *sentPacket // by arrival
	sentBytes, recvBytes := 0, 0
	for _, p := range pkts {
		r.sent++
		if !p.received {
			continue
		}
		r.received++
		sentBytes += int(p.size)
		recvBytes += int(p.size)
		if first == nil || p.at < first.at {
			first = p
		}
		if last == nil || p.at >= last.at {
			last = p
		}
		if firstRx == nil || p.arrival < firstRx.arrival {
			firstRx = p
		}
		if lastRx == nil || p.arrival >= lastRx.arrival {
			lastRx = p
		}
	}
	if r.received < probeMinPackets || float64(r.received) < probeMinReceived*float64(r.sent) {
		return r, false
	}
	sendIv := time.Duration(last.at - first.at)
	recvIv := lastRx.arrival - firstRx.arrival
	if sendIv <= 0 || recvIv <= 0 || sendIv > probeMaxInterval || recvIv > probeMaxInterval {
		return r, false
	}
	// The last packet sent ends the send interval and the first to arrive
	// starts the arrival one: neither is part of the rate.
	r.sendRate = int(float64(sentBytes-int(last.size)) * 8 / sendIv.Seconds())
	r.recvRate = int(float64(recvBytes-int(firstRx.size)) * 8 / recvIv.Seconds())
	if float64(r.recvRate) < probeUnsaturated*float64(r.sendRate) {
		r.Saturated = true
		r.Rate = int(probeTargetFraction * float64(r.recvRate))
	} else {
		r.Rate = min(r.sendRate, r.recvRate)
	}
	return r, true
}
