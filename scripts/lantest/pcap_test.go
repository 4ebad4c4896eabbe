package lantest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"golang.org/x/net/dns/dnsmessage"
)

// packet is one mDNS datagram from a capture.
type packet struct {
	src, dst netip.AddrPort
	msg      dnsmessage.Message
}

// readPcap reads the UDP datagrams of an Ethernet pcap file written by
// tcpdump -w and parses them as DNS messages; others are skipped.
func readPcap(path string) ([]packet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, errors.New("pcap: short file")
	}
	var bo binary.ByteOrder
	switch m := binary.LittleEndian.Uint32(b); m {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("pcap: bad magic %#x", m)
	}
	if lt := bo.Uint32(b[20:]); lt != 1 {
		return nil, fmt.Errorf("pcap: link type %d, want Ethernet", lt)
	}
	var out []packet
	for off := 24; off+16 <= len(b); {
		n := int(bo.Uint32(b[off+8:]))
		off += 16
		if off+n > len(b) {
			break
		}
		if p, ok := parseFrame(b[off : off+n]); ok {
			out = append(out, p)
		}
		off += n
	}
	return out, nil
}

func parseFrame(f []byte) (packet, bool) {
	if len(f) < 14 {
		return packet{}, false
	}
	var src, dst netip.Addr
	var udp []byte
	switch binary.BigEndian.Uint16(f[12:]) {
	case 0x0800:
		ip := f[14:]
		if len(ip) < 20 || ip[9] != 17 {
			return packet{}, false
		}
		ihl := int(ip[0]&0x0f) * 4
		if len(ip) < ihl+8 {
			return packet{}, false
		}
		src, dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		udp = ip[ihl:]
	case 0x86dd:
		ip := f[14:]
		if len(ip) < 48 || ip[6] != 17 {
			return packet{}, false
		}
		src, dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		udp = ip[40:]
	default:
		return packet{}, false
	}
	var m dnsmessage.Message
	if err := m.Unpack(udp[8:]); err != nil {
		return packet{}, false
	}
	return packet{
		src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(udp)),
		dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(udp[2:])),
		msg: m,
	}, true
}
