package mdns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// udpTransport is UDP port 5353 on both families. SO_REUSEADDR and
// SO_REUSEPORT let it share the port with avahi-daemon or another camd.
type udpTransport struct {
	v4     *ipv4.PacketConn
	v6     *ipv6.PacketConn
	in     chan Packet
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu     sync.Mutex
	joined map[string]bool
}

func listen(log *slog.Logger) (Transport, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			if serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	t := &udpTransport{in: make(chan Packet, 64), closed: make(chan struct{}), joined: map[string]bool{}}
	var errs []error
	if c, err := lc.ListenPacket(context.Background(), "udp4", "0.0.0.0:5353"); err != nil {
		errs = append(errs, fmt.Errorf("listen udp4 :5353: %w", err))
	} else {
		t.v4 = ipv4.NewPacketConn(c)
		errs = append(errs, t.v4.SetControlMessage(ipv4.FlagInterface|ipv4.FlagDst, true),
			t.v4.SetMulticastTTL(255), t.v4.SetTTL(255), t.v4.SetMulticastLoopback(true))
	}
	if c, err := lc.ListenPacket(context.Background(), "udp6", "[::]:5353"); err != nil {
		log.Info("mdns: no IPv6", "err", err)
	} else {
		t.v6 = ipv6.NewPacketConn(c)
		errs = append(errs, t.v6.SetControlMessage(ipv6.FlagInterface|ipv6.FlagDst, true),
			t.v6.SetMulticastHopLimit(255), t.v6.SetHopLimit(255), t.v6.SetMulticastLoopback(true))
	}
	if err := errors.Join(errs...); err != nil || (t.v4 == nil && t.v6 == nil) {
		t.Close()
		if err == nil {
			err = errors.New("no socket")
		}
		return nil, fmt.Errorf("mdns: opening port 5353: %w", err)
	}
	if t.v4 != nil {
		t.wg.Add(1)
		go t.read4()
	}
	if t.v6 != nil {
		t.wg.Add(1)
		go t.read6()
	}
	return t, nil
}

func (t *udpTransport) deliver(p Packet) bool {
	select {
	case t.in <- p:
		return true
	case <-t.closed:
		return false
	}
}

func (t *udpTransport) read4() {
	defer t.wg.Done()
	for {
		b := make([]byte, maxPacket)
		n, cm, src, err := t.v4.ReadFrom(b)
		if err != nil {
			return
		}
		p := Packet{Data: b[:n]}
		if ua, ok := src.(*net.UDPAddr); ok {
			p.Src = ua.AddrPort()
			p.Src = netip.AddrPortFrom(p.Src.Addr().Unmap(), p.Src.Port())
		}
		if cm != nil {
			p.IfIndex = cm.IfIndex
			p.Dst, _ = netip.AddrFromSlice(cm.Dst.To4())
		}
		if !t.deliver(p) {
			return
		}
	}
}

func (t *udpTransport) read6() {
	defer t.wg.Done()
	for {
		b := make([]byte, maxPacket)
		n, cm, src, err := t.v6.ReadFrom(b)
		if err != nil {
			return
		}
		p := Packet{Data: b[:n]}
		if ua, ok := src.(*net.UDPAddr); ok {
			p.Src = ua.AddrPort()
		}
		if cm != nil {
			p.IfIndex = cm.IfIndex
			p.Dst, _ = netip.AddrFromSlice(cm.Dst)
		}
		if !t.deliver(p) {
			return
		}
	}
}

func (t *udpTransport) Read() (Packet, error) {
	select {
	case p := <-t.in:
		return p, nil
	case <-t.closed:
		return Packet{}, errClosed
	}
}

func (t *udpTransport) Write(b []byte, dst netip.AddrPort, ifIndex int) error {
	ua := net.UDPAddrFromAddrPort(dst)
	if dst.Addr().Is4() {
		if t.v4 == nil {
			return errors.New("mdns: no IPv4 socket")
		}
		_, err := t.v4.WriteTo(b, &ipv4.ControlMessage{IfIndex: ifIndex}, ua)
		return err
	}
	if t.v6 == nil {
		return errors.New("mdns: no IPv6 socket")
	}
	_, err := t.v6.WriteTo(b, &ipv6.ControlMessage{IfIndex: ifIndex, HopLimit: 255}, ua)
	return err
}

func (t *udpTransport) Join(ifi Interface) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	ni, err := net.InterfaceByIndex(ifi.Index)
	if err != nil {
		return fmt.Errorf("net.InterfaceByIndex %d: %w", ifi.Index, err)
	}
	var has4, has6 bool
	for _, a := range ifi.Addrs {
		has4, has6 = has4 || a.Is4(), has6 || a.Is6()
	}
	var errs []error
	if k := fmt.Sprint(ifi.Index, "/4"); t.v4 != nil && has4 && !t.joined[k] {
		err := t.v4.JoinGroup(ni, &net.UDPAddr{IP: GroupV4.Addr().AsSlice()})
		if err != nil && !errors.Is(err, unix.EADDRINUSE) {
			errs = append(errs, fmt.Errorf("ipv4.PacketConn.JoinGroup %s on %s: %w", GroupV4.Addr(), ni.Name, err))
		} else {
			t.joined[k] = true
		}
	}
	if k := fmt.Sprint(ifi.Index, "/6"); t.v6 != nil && has6 && !t.joined[k] {
		err := t.v6.JoinGroup(ni, &net.UDPAddr{IP: GroupV6.Addr().AsSlice()})
		if err != nil && !errors.Is(err, unix.EADDRINUSE) {
			errs = append(errs, fmt.Errorf("ipv6.PacketConn.JoinGroup %s on %s: %w", GroupV6.Addr(), ni.Name, err))
		} else {
			t.joined[k] = true
		}
	}
	return errors.Join(errs...)
}

func (t *udpTransport) Close() error {
	var errs []error
	t.once.Do(func() {
		close(t.closed)
		if t.v4 != nil {
			errs = append(errs, t.v4.Close())
		}
		if t.v6 != nil {
			errs = append(errs, t.v6.Close())
		}
		t.wg.Wait()
	})
	return errors.Join(errs...)
}
