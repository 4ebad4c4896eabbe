package stream

import (
	"errors"
	"time"
)

// send writes the hub's access units to the viewer, paced (pacer.go), and
// the padding of the viewer's probes between them. It takes the next unit
// only when the last one is out, so a viewer whose path cannot keep up
// falls behind in the hub's queue and drops whole pictures there, never
// slowing the others.
func (s *session) send(sub *Subscriber) {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	// pause waits d, or until a unit comes when next is true; it reports
	// false when the session or the feed ended.
	pause := func(d time.Duration, next bool) (*unit, bool) {
		timer.Reset(d)
		defer timer.Stop()
		var c <-chan *unit
		if next {
			c = sub.C()
		}
		select {
		case <-timer.C:
			return nil, true
		case u, ok := <-c:
			return u, ok
		case <-s.done:
			return nil, false
		}
	}
	var cur *unit
	next := 0
	var lastTS uint32 // of the last picture sent: padding carries it
	sent := false     // padding goes only after video
	for {
		probe := 0
		if s.bwe != nil {
			probe = s.bwe.probe(s.target())
		}
		est := 0
		if s.bwe != nil {
			est, _ = s.bwe.estimate()
		}
		s.pace.setRate(paceRate(probe, est, s.target()))
		now := time.Now()

		if cur == nil {
			if probe == 0 {
				u, ok := <-sub.C()
				if !ok {
					return
				}
				cur, next = u, 0
				continue
			}
			// Probing: padding while no video waits (none before the
			// first picture).
			select {
			case u, ok := <-sub.C():
				if !ok {
					return
				}
				cur, next = u, 0
				continue
			default:
			}
			if d := s.pace.wait(now); d > 0 {
				u, ok := pause(d, true)
				if !ok {
					return
				}
				if u != nil {
					cur, next = u, 0
				}
				continue
			}
			if !sent {
				u, ok := pause(time.Millisecond, true)
				if !ok {
					return
				}
				if u != nil {
					cur, next = u, 0
				}
				continue
			}
			n, err := s.track.writePadding(lastTS, paddingLength)
			if err != nil {
				s.writeFailed(err)
			}
			s.pace.spend(now, n+packetOverIP)
			continue
		}

		if d := s.pace.wait(now); d > 0 {
			if _, ok := pause(d, false); !ok {
				return
			}
			continue
		}
		n, err := s.track.writePacket(cur, next)
		if err != nil {
			s.writeFailed(err)
			cur = nil // the rest of this picture is useless now
			continue
		}
		s.pace.spend(now, n+packetOverIP)
		if n > 0 {
			lastTS, sent = cur.ts, true
			s.packets.Add(1)
			s.bytes.Add(uint64(n))
			if next == 0 && cur.keyframe {
				s.noteKeyframe()
			}
		}
		if next++; next == len(cur.payloads) {
			cur = nil
		}
	}
}

func (s *session) writeFailed(err error) {
	if !errors.Is(err, errClosedPipe) {
		s.log.Debug("write failed", "err", err)
	}
}

func (s *session) noteKeyframe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstKey.IsZero() {
		s.firstKey = time.Now()
		s.log.Info("first keyframe sent", "after_connect", s.firstKey.Sub(s.connected).Round(time.Millisecond))
	}
}

// target is the encoder's bitrate target, 0 when camd does not steer it.
func (s *session) target() int {
	if s.targetFn == nil {
		return 0
	}
	return s.targetFn()
}
