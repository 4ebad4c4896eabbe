package tello

import "net"

// State returns the latest telemetry with its Received time and Age, or a
// zero State (Known empty) when none has arrived.
func (d *Drone) State() State {
	d.tele.Lock()
	s := d.last
	d.tele.Unlock()
	if !s.Received.IsZero() {
		s.Age = d.clk.Now().Sub(s.Received)
	}
	return s
}

// Linked reports whether telemetry arrived within Options.LinkTimeout: the
// drone is on and reachable.
func (d *Drone) Linked() bool {
	s := d.State()
	return !s.Received.IsZero() && s.Age < d.opts.LinkTimeout
}

// BadStates counts telemetry datagrams that ParseState rejected.
func (d *Drone) BadStates() uint64 { return d.badStates.Load() }

type stateSub struct{ ch chan State }

// Subscribe returns a channel that receives every telemetry report, and a
// function that ends the subscription and closes the channel. A reader that
// falls behind gets the latest report, not a backlog: the channel holds one.
// Close ends every subscription.
func (d *Drone) Subscribe() (<-chan State, func()) {
	s := &stateSub{ch: make(chan State, 1)}
	d.tele.Lock()
	select {
	case <-d.closed:
		close(s.ch)
	default:
		d.subs[s] = struct{}{}
	}
	d.tele.Unlock()
	return s.ch, func() {
		d.tele.Lock()
		defer d.tele.Unlock()
		if _, ok := d.subs[s]; ok {
			delete(d.subs, s)
			close(s.ch)
		}
	}
}

func (d *Drone) readState() {
	defer d.wg.Done()
	buf := make([]byte, maxStateLen+1)
	for {
		n, from, err := d.state.ReadFrom(buf)
		if err != nil {
			return
		}
		if !sameIP(from, d.dst) {
			continue
		}
		s, err := ParseState(buf[:n])
		if err != nil {
			d.badStates.Add(1)
			d.log.Debug("tello: bad state datagram", "err", err)
			continue
		}
		s.Received = d.clk.Now()
		d.tele.Lock()
		d.last = s
		for sub := range d.subs {
			select {
			case sub.ch <- s:
			default:
				select { // replace the unread report with this one
				case <-sub.ch:
				default:
				}
				sub.ch <- s
			}
		}
		d.tele.Unlock()
	}
}

func sameIP(a, b net.Addr) bool {
	ua, ok1 := a.(*net.UDPAddr)
	ub, ok2 := b.(*net.UDPAddr)
	return ok1 && ok2 && ua.IP.Equal(ub.IP)
}

// VideoStats counts the video datagrams read and dropped.
type VideoStats struct {
	Datagrams uint64 // read from the socket
	Bytes     uint64 // their payload bytes
	Dropped   uint64 // thrown away because the reader fell behind
}

// Video returns the raw H.264 Annex-B byte stream as it came off the
// socket, one datagram payload (up to 1460 bytes, cut anywhere in a NAL
// unit) per slice, in order. The reader owns each slice. The channel is
// bounded (Options.VideoQueue); when it is full the oldest datagram is
// dropped and counted, so a slow reader never stalls telemetry; it should
// resynchronise on the next keyframe. Close closes the channel. The drone
// sends video only after "streamon".
func (d *Drone) Video() <-chan []byte { return d.videoCh }

// VideoStats returns the video counters.
func (d *Drone) VideoStats() VideoStats {
	return VideoStats{Datagrams: d.videoIn.Load(), Bytes: d.videoBytes.Load(), Dropped: d.videoDropped.Load()}
}

func (d *Drone) readVideo() {
	defer d.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := d.video.ReadFrom(buf)
		if err != nil {
			return
		}
		if n == 0 || !sameIP(from, d.dst) {
			continue
		}
		d.videoIn.Add(1)
		d.videoBytes.Add(uint64(n))
		p := make([]byte, n)
		copy(p, buf[:n])
		select {
		case d.videoCh <- p:
			continue
		default:
		}
		select { // full: drop the oldest
		case <-d.videoCh:
			d.videoDropped.Add(1)
		default:
		}
		select {
		case d.videoCh <- p:
		default:
			d.videoDropped.Add(1)
		}
	}
}
