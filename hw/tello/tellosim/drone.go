package tellosim

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// Replies as the drone gives them.
const (
	replyOK          = "ok"
	replyError       = "error"
	replyNotJoystick = "error Not joystick"
	replyMotorStop   = "error Motor stop"
)

// takeoffHeight is where the drone hovers after takeoff, cm.
const takeoffHeight = 80

// handle acts on one datagram and returns the reply ("" for none) and how
// long the drone takes to give it. s.mu is held.
func (s *Sim) handle(cmd string, from net.Addr) (string, time.Duration) {
	verb, arg, _ := strings.Cut(cmd, " ")
	if verb == "rc" {
		s.rc(arg) // never answered
		return "", 0
	}
	if verb == "command" {
		s.sdk = true
		var host net.IP
		if ua, ok := from.(*net.UDPAddr); ok {
			host = ua.IP
		}
		if s.opts.StateTo == "" {
			s.stateTo = &net.UDPAddr{IP: host, Port: 8890}
		}
		if s.opts.VideoTo == "" {
			s.videoTo = &net.UDPAddr{IP: host, Port: 11111}
		}
		return replyOK, 0
	}
	if !s.sdk {
		return replyNotJoystick, 0
	}
	switch verb {
	case "streamon":
		s.streaming = true
		return replyOK, 0
	case "streamoff":
		s.streaming = false
		return replyOK, 0
	case "takeoff":
		switch {
		case s.flying:
			return replyError, 0
		case s.batteryPct() < 10:
			return replyMotorStop, 0
		}
		s.flying, s.target = true, takeoffHeight
		return replyOK, s.opts.TakeoffTime
	case "land":
		if !s.flying {
			return replyNotJoystick, 0
		}
		s.land()
		return replyOK, s.opts.LandTime
	case "emergency":
		s.flying, s.height, s.target = false, 0, 0
		return replyOK, 0
	case "stop":
		s.stick = [4]int{}
		return replyOK, 0
	case "up", "down", "left", "right", "forward", "back", "cw", "ccw":
		return s.move(verb, arg), 0
	case "speed":
		if v, err := strconv.Atoi(arg); err != nil || v < 10 || v > 100 {
			return replyError, 0
		}
		return replyOK, 0
	}
	if v, ok := s.read(cmd); ok {
		return v, 0
	}
	return "unknown command: " + verb, 0
}

func (s *Sim) move(verb, arg string) string {
	v, err := strconv.Atoi(arg)
	lo, hi := 20, 500
	if verb == "cw" || verb == "ccw" {
		lo, hi = 1, 360
	}
	if err != nil || v < lo || v > hi {
		return replyError
	}
	if !s.flying {
		return replyNotJoystick
	}
	switch verb {
	case "up":
		s.target += float64(v)
	case "down":
		s.target = math.Max(20, s.target-float64(v))
	}
	return replyOK
}

// read answers the read commands.
func (s *Sim) read(cmd string) (string, bool) {
	switch cmd {
	case "battery?":
		return strconv.Itoa(s.batteryPct()), true
	case "wifi?":
		return strconv.Itoa(s.opts.SNR), true
	case "speed?":
		return "10.0", true
	case "time?":
		return fmt.Sprintf("%ds", int(s.motorTime.Seconds())), true
	case "height?":
		return fmt.Sprintf("%ddm", int(s.height/10)), true
	case "temp?":
		return "62~65C", true
	case "tof?":
		return fmt.Sprintf("%dmm", int(s.height*10)+100), true
	case "baro?":
		return fmt.Sprintf("%.2f", s.height/100), true
	case "attitude?":
		return "pitch:0;roll:0;yaw:0;", true
	case "sdk?":
		return "20", true
	case "sn?":
		return "0TQZSIM0000001", true
	}
	return "", false
}

// rc takes the sticks; a malformed rc is ignored, as the drone does.
func (s *Sim) rc(arg string) {
	f := strings.Fields(arg)
	if len(f) != 4 {
		return
	}
	var st [4]int
	for i, x := range f {
		v, err := strconv.Atoi(x)
		if err != nil || v < -100 || v > 100 {
			return
		}
		st[i] = v
	}
	s.stick = st
}

// batteryPct is the charge as the drone reports it: whole percent, rounded
// up, so a fresh 77 % battery reads 77.
func (s *Sim) batteryPct() int { return int(math.Ceil(s.battery)) }

func (s *Sim) land() {
	s.flying, s.target = false, 0
	s.stick = [4]int{}
}

// fly advances the simulated flight and sends telemetry every
// StateInterval.
func (s *Sim) fly() {
	defer s.wg.Done()
	tk := time.NewTicker(s.opts.StateInterval)
	defer tk.Stop()
	dt := s.opts.StateInterval.Seconds()
	for {
		select {
		case <-s.done:
			return
		case now := <-tk.C:
			s.mu.Lock()
			s.step(now, dt)
			msg, to := s.stateLocked(), s.stateTo
			send := s.sdk && to != nil && !s.paused
			s.mu.Unlock()
			if send {
				s.stateOut.WriteTo([]byte(msg), to)
			}
		}
	}
}

func (s *Sim) step(now time.Time, dt float64) {
	if s.flying && now.Sub(s.lastCmd) >= s.opts.AutoLand {
		s.land()
		s.autoLands++
	}
	drain := s.opts.Drain / 10
	if s.flying {
		drain = s.opts.Drain
		s.motorTime += s.opts.StateInterval
		s.target = math.Max(20, math.Min(3000, s.target+float64(s.stick[2])/100*50*dt))
	}
	s.battery = math.Max(0, s.battery-drain*dt)
	// climb or sink at up to 100 cm/s towards the target
	d := math.Max(-100*dt, math.Min(100*dt, s.target-s.height))
	if !s.flying && s.target == 0 {
		d = math.Max(-100*dt, -s.height)
	}
	s.height += d
}

func (s *Sim) stateLocked() string {
	vgz := 0
	if s.flying {
		vgz = -s.stick[2] / 10
	}
	return fmt.Sprintf("pitch:%d;roll:%d;yaw:%d;vgx:%d;vgy:%d;vgz:%d;templ:%d;temph:%d;tof:%d;h:%d;bat:%d;baro:%.2f;time:%d;agx:%.2f;agy:%.2f;agz:%.2f;\r\n",
		-s.stick[1]/5, s.stick[0]/5, 0, s.stick[1]/10, s.stick[0]/10, vgz, 62, 65,
		int(s.height)+10, int(s.height), s.batteryPct(), 100+s.height/100,
		int(s.motorTime.Seconds()), 0.0, 0.0, -1000.0)
}

// stream sends one access unit of the video per frame interval while
// streaming, cut into datagrams of at most MaxDatagram bytes.
func (s *Sim) stream() {
	defer s.wg.Done()
	if len(s.aus) == 0 {
		return
	}
	tk := time.NewTicker(time.Duration(float64(time.Second) / s.opts.FPS))
	defer tk.Stop()
	next := 0
	for {
		select {
		case <-s.done:
			return
		case <-tk.C:
		}
		s.mu.Lock()
		on, to := s.streaming && s.sdk, s.videoTo
		s.mu.Unlock()
		if !on || to == nil {
			next = 0 // the drone starts a new stream at a keyframe
			continue
		}
		sent := 0
		for _, c := range chunks(s.aus[next]) {
			if _, err := s.videoOut.WriteTo(c, to); err == nil {
				sent++
			}
		}
		next = (next + 1) % len(s.aus)
		s.mu.Lock()
		s.videoSent += sent
		s.mu.Unlock()
	}
}
