// Package tellosim is a DJI Tello on loopback, for tests and demos: it
// answers the SDK's commands like the drone (firmware 01.04 as of 2025),
// sends telemetry ten times a second, streams an H.264 file as the drone
// streams its camera, lands by itself after 15 s without a command, and
// records every datagram it receives with the time it arrived, so tests can
// check what a client sent and when.
//
// Like the drone, it sends telemetry and video to the address that sent
// "command", on ports 8890 and 11111, unless told otherwise (Options,
// SetStateTo, SetVideoTo).
package tellosim

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Options configure a simulator. Zero fields take the defaults.
type Options struct {
	// Addr is where the simulator listens for commands. Default
	// "127.0.0.1:0".
	Addr string
	// StateTo and VideoTo are where telemetry and video go. Default: the
	// host that sent "command", ports 8890 and 11111.
	StateTo, VideoTo string
	// Battery is the starting charge in percent. Default 100.
	Battery int
	// Drain is how fast the battery empties while flying, percent per
	// second (a tenth of it on the ground). Default 0.13: a 13-minute flight.
	Drain float64
	// SNR is the answer to "wifi?". Default 90.
	SNR int
	// Video is an H.264 Annex-B stream to loop after "streamon", one access
	// unit per frame. Nil: no video.
	Video []byte
	// FPS is the video's frame rate. Default 30.
	FPS float64
	// StateInterval is the telemetry period. Default 100 ms.
	StateInterval time.Duration
	// AutoLand is how long the drone flies without any datagram before it
	// lands by itself. Default 15 s.
	AutoLand time.Duration
	// TakeoffTime and LandTime delay the "ok" of takeoff and land, as the
	// drone answers when the manoeuvre is over. Default 0.
	TakeoffTime, LandTime time.Duration
	// DropReplies drops the first n replies (the commands still act), as a
	// lossy link would.
	DropReplies int
}

// Recorded is one datagram the simulator received.
type Recorded struct {
	Index int       // position in the log, from 0
	Cmd   string    // the datagram, surrounding space trimmed
	At    time.Time // when it arrived
}

// Sim is a running simulator.
type Sim struct {
	opts     Options
	conn     net.PacketConn // commands and replies
	stateOut net.PacketConn
	videoOut net.PacketConn
	aus      [][]byte
	done     chan struct{}
	wg       sync.WaitGroup

	mu        sync.Mutex
	log       []Recorded
	changed   chan struct{} // closed and replaced on every record
	drop      int
	sdk       bool
	stateTo   net.Addr
	videoTo   net.Addr
	streaming bool
	flying    bool
	height    float64 // cm
	target    float64 // cm the drone climbs or sinks to
	battery   float64
	motorTime time.Duration
	stick     [4]int
	lastCmd   time.Time
	autoLands int
	paused    bool
	timers    []*time.Timer
	videoSent int
}

// Start opens the sockets and starts the simulator.
func Start(opts Options) (*Sim, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Battery <= 0 {
		opts.Battery = 100
	}
	if opts.Drain <= 0 {
		opts.Drain = 0.13
	}
	if opts.SNR <= 0 {
		opts.SNR = 90
	}
	if opts.FPS <= 0 {
		opts.FPS = 30
	}
	if opts.StateInterval <= 0 {
		opts.StateInterval = 100 * time.Millisecond
	}
	if opts.AutoLand <= 0 {
		opts.AutoLand = 15 * time.Second
	}
	s := &Sim{opts: opts, done: make(chan struct{}), changed: make(chan struct{}),
		drop: opts.DropReplies, battery: float64(opts.Battery)}
	if len(opts.Video) > 0 {
		if s.aus = splitAccessUnits(opts.Video); len(s.aus) == 0 {
			return nil, errors.New("tellosim.Start: Options.Video holds no H.264 access unit")
		}
	}
	for _, a := range []struct {
		addr *net.Addr
		s    string
	}{{&s.stateTo, opts.StateTo}, {&s.videoTo, opts.VideoTo}} {
		if a.s == "" {
			continue
		}
		ua, err := net.ResolveUDPAddr("udp", a.s)
		if err != nil {
			return nil, fmt.Errorf("tellosim.Start: %w", err)
		}
		*a.addr = ua
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("tellosim.Start: %w", err)
	}
	for _, c := range []struct {
		pc   *net.PacketConn
		addr string
	}{{&s.conn, opts.Addr}, {&s.stateOut, net.JoinHostPort(host, "0")}, {&s.videoOut, net.JoinHostPort(host, "0")}} {
		pc, err := net.ListenPacket("udp", c.addr)
		if err != nil {
			s.closeConns()
			return nil, fmt.Errorf("tellosim.Start: listen %s: %w", c.addr, err)
		}
		*c.pc = pc
	}
	s.wg.Add(3)
	go s.serve()
	go s.fly()
	go s.stream()
	return s, nil
}

// Addr is the command address to give the client.
func (s *Sim) Addr() net.Addr { return s.conn.LocalAddr() }

// Close stops the simulator and waits for its goroutines.
func (s *Sim) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	close(s.done)
	s.closeConns()
	s.mu.Lock()
	for _, t := range s.timers {
		if t.Stop() {
			s.wg.Done()
		}
	}
	s.timers = nil
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Sim) closeConns() {
	for _, pc := range []net.PacketConn{s.conn, s.stateOut, s.videoOut} {
		if pc != nil {
			pc.Close()
		}
	}
}

// SetStateTo sends telemetry to addr from now on.
func (s *Sim) SetStateTo(addr net.Addr) { s.mu.Lock(); s.stateTo = addr; s.mu.Unlock() }

// SetVideoTo sends video to addr from now on.
func (s *Sim) SetVideoTo(addr net.Addr) { s.mu.Lock(); s.videoTo = addr; s.mu.Unlock() }

// DropReplies drops the next n replies.
func (s *Sim) DropReplies(n int) { s.mu.Lock(); s.drop = n; s.mu.Unlock() }

// SetBattery sets the charge, in percent.
func (s *Sim) SetBattery(pct int) { s.mu.Lock(); s.battery = float64(pct); s.mu.Unlock() }

// PauseState stops (true) or resumes the telemetry, as when the drone goes
// out of range.
func (s *Sim) PauseState(pause bool) { s.mu.Lock(); s.paused = pause; s.mu.Unlock() }

// Flying reports whether the motors run.
func (s *Sim) Flying() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.flying }

// Height is the height in cm.
func (s *Sim) Height() int { s.mu.Lock(); defer s.mu.Unlock(); return int(s.height) }

// AutoLands counts the landings the drone made by itself.
func (s *Sim) AutoLands() int { s.mu.Lock(); defer s.mu.Unlock(); return s.autoLands }

// VideoSent counts the video datagrams sent.
func (s *Sim) VideoSent() int { s.mu.Lock(); defer s.mu.Unlock(); return s.videoSent }

// Commands returns a copy of every datagram received so far.
func (s *Sim) Commands() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.log...)
}

// WaitFor waits up to timeout for a datagram equal to cmd at index from or
// later, and returns it.
func (s *Sim) WaitFor(cmd string, from int, timeout time.Duration) (Recorded, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for _, r := range s.log[min(from, len(s.log)):] {
			if r.Cmd == cmd {
				s.mu.Unlock()
				return r, nil
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return Recorded{}, fmt.Errorf("tellosim.WaitFor %q: not received within %v", cmd, timeout)
		case <-s.done:
			return Recorded{}, fmt.Errorf("tellosim.WaitFor %q: simulator closed", cmd)
		}
	}
}

func (s *Sim) serve() {
	defer s.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		now := time.Now()
		cmd := strings.TrimSpace(string(buf[:n]))
		s.mu.Lock()
		s.log = append(s.log, Recorded{Index: len(s.log), Cmd: cmd, At: now})
		close(s.changed)
		s.changed = make(chan struct{})
		s.lastCmd = now
		reply, delay := s.handle(cmd, from)
		if reply != "" {
			s.replyLocked(reply, from, delay)
		}
		s.mu.Unlock()
	}
}

func (s *Sim) replyLocked(reply string, to net.Addr, delay time.Duration) {
	if s.drop > 0 {
		s.drop--
		return
	}
	if delay <= 0 {
		s.conn.WriteTo([]byte(reply), to)
		return
	}
	s.wg.Add(1)
	s.timers = append(s.timers, time.AfterFunc(delay, func() {
		defer s.wg.Done()
		s.conn.WriteTo([]byte(reply), to)
	}))
}
