package tello

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure Dial. The zero value talks to a real Tello.
type Options struct {
	// Addr is the drone's command address. Default "192.168.10.1:8889".
	Addr string
	// CommandAddr is the local address commands are sent from; replies
	// come back to it. Default ":0" (any port).
	CommandAddr string
	// StateAddr is where the drone sends telemetry. Default ":8890".
	StateAddr string
	// VideoAddr is where the drone sends video. Default ":11111".
	VideoAddr string
	// ListenPacket opens the three local sockets. Default net.ListenPacket;
	// tests pass one that stays on loopback.
	ListenPacket func(network, addr string) (net.PacketConn, error)
	// Clock is the time source for timeouts and the link watch. Default
	// SystemClock.
	Clock Clock
	// Logger receives debug logs (retries, bad datagrams). Default: none.
	Logger *slog.Logger

	// CommandTimeout is how long one try of a quick command (command,
	// streamon, battery?, …) waits for its reply. Default 1 s.
	CommandTimeout time.Duration
	// MotionTimeout is how long one try of takeoff, land or a move waits:
	// the drone replies when the manoeuvre is over. Default 20 s.
	MotionTimeout time.Duration
	// Tries is how many times a retryable command is sent when no reply
	// comes back. Default 3.
	Tries int
	// LinkTimeout is how long without telemetry before the link counts as
	// lost. Default 1 s.
	LinkTimeout time.Duration
	// VideoQueue is how many video datagrams wait for the reader before the
	// oldest is dropped. Default 512 (about 0.7 MB).
	VideoQueue int
}

func (o *Options) defaults() {
	if o.Addr == "" {
		o.Addr = "192.168.10.1:8889"
	}
	if o.CommandAddr == "" {
		o.CommandAddr = ":0"
	}
	if o.StateAddr == "" {
		o.StateAddr = ":8890"
	}
	if o.VideoAddr == "" {
		o.VideoAddr = ":11111"
	}
	if o.ListenPacket == nil {
		o.ListenPacket = net.ListenPacket
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = time.Second
	}
	if o.MotionTimeout <= 0 {
		o.MotionTimeout = 20 * time.Second
	}
	if o.Tries <= 0 {
		o.Tries = 3
	}
	if o.LinkTimeout <= 0 {
		o.LinkTimeout = time.Second
	}
	if o.VideoQueue <= 0 {
		o.VideoQueue = 512
	}
}

// EmergencyRepeats is how many times Emergency sends "emergency".
const EmergencyRepeats = 3

// Drone is a connected Tello. Its methods are safe for concurrent use.
type Drone struct {
	opts  Options
	clk   Clock
	log   *slog.Logger
	dst   net.Addr
	cmd   net.PacketConn
	state net.PacketConn
	video net.PacketConn

	sem     chan struct{}  // one command in flight
	replies chan string    // replies read from cmd
	closed  chan struct{}  // closed by Close
	wg      sync.WaitGroup // the reader goroutines
	once    sync.Once

	tele      sync.Mutex
	last      State
	subs      map[*stateSub]struct{}
	badStates atomic.Uint64

	videoCh      chan []byte
	videoIn      atomic.Uint64
	videoBytes   atomic.Uint64
	videoDropped atomic.Uint64
}

// Dial opens the local sockets, starts reading replies, telemetry and video,
// and puts the drone in SDK mode with "command". It fails if the drone does
// not answer.
func Dial(ctx context.Context, opts Options) (*Drone, error) {
	opts.defaults()
	dst, err := net.ResolveUDPAddr("udp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("tello.Dial: resolve %s: %w", opts.Addr, err)
	}
	d := &Drone{
		opts:    opts,
		clk:     opts.Clock,
		log:     opts.Logger,
		dst:     dst,
		sem:     make(chan struct{}, 1),
		replies: make(chan string, 16),
		closed:  make(chan struct{}),
		subs:    make(map[*stateSub]struct{}),
		videoCh: make(chan []byte, opts.VideoQueue),
	}
	for _, l := range []struct {
		pc   *net.PacketConn
		addr string
	}{{&d.cmd, opts.CommandAddr}, {&d.state, opts.StateAddr}, {&d.video, opts.VideoAddr}} {
		pc, err := opts.ListenPacket("udp", l.addr)
		if err != nil {
			d.closeConns()
			return nil, fmt.Errorf("tello.Dial: listen %s: %w", l.addr, err)
		}
		*l.pc = pc
	}
	d.wg.Add(3)
	go d.readReplies()
	go d.readState()
	go d.readVideo()
	if _, err := d.Command(ctx, "command"); err != nil {
		d.Close()
		return nil, fmt.Errorf("tello.Dial: enter SDK mode: %w", err)
	}
	return d, nil
}

// StateAddr is the local address telemetry is read from.
func (d *Drone) StateAddr() net.Addr { return d.state.LocalAddr() }

// VideoAddr is the local address video is read from.
func (d *Drone) VideoAddr() net.Addr { return d.video.LocalAddr() }

// Close stops the readers, closes the sockets, the Video channel and every
// subscription. It does not land the drone: that is the Pilot's job.
func (d *Drone) Close() error {
	d.once.Do(func() {
		close(d.closed)
		d.closeConns()
		d.wg.Wait()
		close(d.videoCh)
		d.tele.Lock()
		for s := range d.subs {
			delete(d.subs, s)
			close(s.ch)
		}
		d.tele.Unlock()
	})
	return nil
}

func (d *Drone) isClosed() bool {
	select {
	case <-d.closed:
		return true
	default:
		return false
	}
}

func (d *Drone) closeConns() {
	for _, pc := range []net.PacketConn{d.cmd, d.state, d.video} {
		if pc != nil {
			pc.Close()
		}
	}
}

// Command sends one SDK command and returns the drone's reply: "ok", or the
// value of a read command such as "battery?". A reply "error …" returns the
// reply and an error wrapping ErrRefused.
//
// Commands are serialised: Command waits for the one in flight to finish.
// A try that gets no reply within its timeout (Options.CommandTimeout, or
// MotionTimeout for takeoff, land and moves) is sent again, up to
// Options.Tries times, then ErrNoReply. Relative moves (forward 50, cw 90,
// flip l, go …) are sent once: a lost reply must not double a move.
// Takeoff and land are retried: a repeat changes nothing on a drone that did
// get the first, though it may then be answered with "error" (the Pilot
// checks the telemetry when that happens).
//
// The SDK's replies carry no id. Replies left over from an earlier command
// that timed out are discarded before each send, but one arriving after the
// next send is taken as that command's reply.
//
// "emergency" is passed to Emergency, and "rc" is refused: use RC.
func (d *Drone) Command(ctx context.Context, cmd string) (string, error) {
	cmd = strings.TrimSpace(cmd)
	if err := checkCommand(cmd); err != nil {
		return "", fmt.Errorf("tello.Command %q: %w", cmd, err)
	}
	if cmd == "emergency" {
		return "", d.Emergency(ctx)
	}
	if d.isClosed() {
		return "", fmt.Errorf("tello.Command %q: %w", cmd, ErrClosed)
	}
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("tello.Command %q: %w", cmd, ctx.Err())
	case <-d.closed:
		return "", fmt.Errorf("tello.Command %q: %w", cmd, ErrClosed)
	}
	defer func() { <-d.sem }()

	timeout, tries := d.policy(cmd)
	for try := 1; try <= tries; try++ {
		d.drainReplies()
		if _, err := d.cmd.WriteTo([]byte(cmd), d.dst); err != nil {
			if d.isClosed() {
				err = ErrClosed
			}
			return "", fmt.Errorf("tello.Command %q: write: %w", cmd, err)
		}
		reply, err := d.awaitReply(ctx, timeout, strings.HasSuffix(cmd, "?"))
		if err == errTryTimedOut {
			d.log.Debug("tello: no reply", "cmd", cmd, "try", try, "of", tries, "timeout", timeout)
			continue
		}
		if err != nil {
			return "", fmt.Errorf("tello.Command %q: %w", cmd, err)
		}
		if reply == "error" || strings.HasPrefix(reply, "error ") {
			return reply, fmt.Errorf("tello.Command %q: %w: %q", cmd, ErrRefused, reply)
		}
		return reply, nil
	}
	return "", fmt.Errorf("tello.Command %q: %w after %d tries of %v", cmd, ErrNoReply, tries, timeout)
}

var errTryTimedOut = fmt.Errorf("try timed out")

func (d *Drone) awaitReply(ctx context.Context, timeout time.Duration, read bool) (string, error) {
	expired := make(chan struct{})
	t := d.clk.AfterFunc(timeout, func() { close(expired) })
	defer t.Stop()
	for {
		select {
		case r := <-d.replies:
			if read && r == "ok" {
				continue // a stray "ok" is not the value a read command wants
			}
			return r, nil
		case <-expired:
			return "", errTryTimedOut
		case <-ctx.Done():
			return "", ctx.Err()
		case <-d.closed:
			return "", ErrClosed
		}
	}
}

func (d *Drone) drainReplies() {
	for {
		select {
		case r := <-d.replies:
			d.log.Debug("tello: discarded late reply", "reply", r)
		default:
			return
		}
	}
}

// motion lists the commands whose reply comes when the drone has moved.
var motion = map[string]bool{
	"takeoff": true, "land": true, "up": true, "down": true, "left": true,
	"right": true, "forward": true, "back": true, "cw": true, "ccw": true,
	"flip": true, "go": true, "curve": true, "jump": true, "stop": true,
}

func (d *Drone) policy(cmd string) (time.Duration, int) {
	verb, _, _ := strings.Cut(cmd, " ")
	switch {
	case verb == "takeoff" || verb == "land":
		return d.opts.MotionTimeout, d.opts.Tries
	case motion[verb]:
		return d.opts.MotionTimeout, 1
	}
	return d.opts.CommandTimeout, d.opts.Tries
}

func checkCommand(cmd string) error {
	if cmd == "" || len(cmd) > 128 {
		return fmt.Errorf("%w: length %d, want 1..128", ErrBadCommand, len(cmd))
	}
	for i := 0; i < len(cmd); i++ {
		if cmd[i] < ' ' || cmd[i] > '~' {
			return fmt.Errorf("%w: byte 0x%02x is not printable ASCII", ErrBadCommand, cmd[i])
		}
	}
	if verb, _, _ := strings.Cut(cmd, " "); verb == "rc" {
		return fmt.Errorf("%w: rc gets no reply, use RC", ErrBadCommand)
	}
	return nil
}

// Emergency stops the motors at once: the drone falls. It does not wait for
// a command in flight, and sends "emergency" EmergencyRepeats times without
// waiting for replies: on a lossy link delivery matters more than a
// confirmation, and a repeat is harmless because the motors are already
// off. Their replies are discarded before the next command; a command in
// flight may take one for its own reply.
func (d *Drone) Emergency(ctx context.Context) error {
	if d.isClosed() {
		return fmt.Errorf("tello.Emergency: %w", ErrClosed)
	}
	var sent int
	var last error
	for i := 0; i < EmergencyRepeats; i++ {
		if _, err := d.cmd.WriteTo([]byte("emergency"), d.dst); err != nil {
			last = err
			continue
		}
		sent++
	}
	if sent == 0 {
		return fmt.Errorf("tello.Emergency: write: %w", last)
	}
	return nil
}

// RC sends the sticks: roll (left/right), pitch (forward/back), throttle
// (up/down) and yaw, each clamped to -100..100. The drone does not reply;
// send it about 20 times a second while flying (the Pilot does).
func (d *Drone) RC(roll, pitch, throttle, yaw int) error {
	msg := fmt.Sprintf("rc %d %d %d %d", clamp100(roll), clamp100(pitch), clamp100(throttle), clamp100(yaw))
	if _, err := d.cmd.WriteTo([]byte(msg), d.dst); err != nil {
		if d.isClosed() {
			err = ErrClosed
		}
		return fmt.Errorf("tello.RC: write: %w", err)
	}
	return nil
}

func clamp100(v int) int { return max(-100, min(100, v)) }

func (d *Drone) readReplies() {
	defer d.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := d.cmd.ReadFrom(buf)
		if err != nil {
			return
		}
		if !sameHost(from, d.dst) {
			d.log.Debug("tello: reply from a stranger ignored", "from", from)
			continue
		}
		r := strings.TrimSpace(string(buf[:n]))
		select {
		case d.replies <- r:
		default:
			d.log.Debug("tello: reply queue full, dropped", "reply", r)
		}
	}
}

func sameHost(a, b net.Addr) bool {
	ua, ok1 := a.(*net.UDPAddr)
	ub, ok2 := b.(*net.UDPAddr)
	if !ok1 || !ok2 {
		return a.String() == b.String()
	}
	return ua.IP.Equal(ub.IP) && ua.Port == ub.Port
}
