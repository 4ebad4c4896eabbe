package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits Validate enforces.
const (
	MinFrameSize = 16
	MaxFrameSize = 4096
	MinFPS       = 1
	MaxFPS       = 240
	// Bitrates outside this range are almost always a missing unit
	// ("2000" is 2 kbps) or an extra zero.
	LowestBitrate       Bitrate = 10_000
	HighestBitrate      Bitrate = 100_000_000
	MaxGOP                      = Duration(time.Minute)
	MaxKeyframeInterval         = Duration(10 * time.Second)
	MaxViewersLimit             = 1024
	MaxGrain                    = 64
	MinAdaptUpHold              = Duration(100 * time.Millisecond)
	MaxAdaptUpHold              = Duration(10 * time.Second)
	MinAdaptInterval            = Duration(50 * time.Millisecond)
	MaxAdaptInterval            = Duration(5 * time.Second)
	MinWHIPBackoff              = Duration(100 * time.Millisecond)
	MaxWHIPBackoff              = Duration(10 * time.Minute)
)

// Choices for the enumerated keys.
var (
	LogLevels    = []string{"debug", "info", "warn", "error"}
	SourceKinds  = []string{"auto", "pattern", "file", "v4l2", "exec", "tello"}
	ExecFormats  = []string{"h264", "nv12", "i420", "yuyv"}
	SerialModes  = []string{"lines", "raw"}
	EncoderKinds = []string{"auto", "openh264", "v4l2m2m", "passthrough"}
	AuthViews    = []string{"token", "open"}
)

// Validate checks ranges and consistency and returns every problem as
// Errors, each pointing at where its value came from.
func (c *Config) Validate() error {
	v := validator{c: c}

	if err := checkName(c.Name); err != "" {
		v.add("name", err)
	}
	if err := checkListen(c.Listen); err != "" {
		v.add("listen", err)
	}
	v.oneOf("log_level", c.LogLevel, LogLevels)

	s := c.Source
	v.oneOf("source.kind", s.Kind, SourceKinds)
	switch {
	case s.Kind == "file" && s.Path == "":
		v.add("source.path", `must be set when source.kind is "file"`, "source.kind")
	case s.Kind == "exec" && strings.TrimSpace(s.Command) == "":
		v.add("source.command", `must be set when source.kind is "exec"`, "source.kind")
	}
	v.oneOf("source.exec_format", s.ExecFormat, ExecFormats)
	if s.Decoder != "auto" && s.Decoder != "software" && !strings.HasPrefix(s.Decoder, "/dev/") {
		v.add("source.decoder", fmt.Sprintf(`must be "auto", "software" or a device path such as "/dev/video10", got %q`, s.Decoder))
	}
	v.frameSize("source.width", s.Width)
	v.frameSize("source.height", s.Height)
	if math.IsNaN(s.FPS) || s.FPS < MinFPS || s.FPS > MaxFPS {
		v.add("source.fps", fmt.Sprintf("must be between %d and %d, got %v", MinFPS, MaxFPS, s.FPS))
	}
	if s.Grain < 0 || s.Grain > MaxGrain {
		v.add("source.grain", fmt.Sprintf("must be between 0 and %d, got %d", MaxGrain, s.Grain))
	}

	e := c.Encoder
	v.oneOf("encoder.kind", e.Kind, EncoderKinds)
	switch {
	case e.Kind == "passthrough" && s.Kind == "pattern":
		v.add("encoder.kind", `"passthrough" needs a source that gives H.264; the test pattern gives raw frames`, "source.kind")
	case e.Kind == "passthrough" && s.Kind == "exec" && s.ExecFormat != "h264" && slices.Contains(ExecFormats, s.ExecFormat):
		v.add("encoder.kind", fmt.Sprintf(`"passthrough" needs a source that gives H.264; source.exec_format %q is raw frames`, s.ExecFormat), "source.exec_format", "source.kind")
	case (e.Kind == "openh264" || e.Kind == "v4l2m2m") && s.Kind == "exec" && s.ExecFormat == "h264":
		v.add("encoder.kind", fmt.Sprintf(`%q cannot encode an exec source giving H.264; set source.exec_format to the raw format the command writes, or use "passthrough" or "auto"`, e.Kind), "source.exec_format", "source.kind")
	case (e.Kind == "openh264" || e.Kind == "v4l2m2m") && s.Kind == "file":
		v.add("encoder.kind", fmt.Sprintf(`%q cannot encode a file source, which is already H.264; use "passthrough" or "auto"`, e.Kind), "source.kind")
	}
	rates := []struct {
		key string
		b   Bitrate
	}{{"encoder.bitrate", e.Bitrate}, {"encoder.min_bitrate", e.MinBitrate}, {"encoder.max_bitrate", e.MaxBitrate}}
	inRange := true
	for _, r := range rates {
		if r.b < LowestBitrate || r.b > HighestBitrate {
			v.add(r.key, fmt.Sprintf("must be between %v and %v, got %v", LowestBitrate, HighestBitrate, r.b))
			inRange = false
		}
	}
	if inRange {
		switch {
		case e.MinBitrate > e.MaxBitrate:
			v.add("encoder.min_bitrate", fmt.Sprintf("%v is above max_bitrate %v", e.MinBitrate, e.MaxBitrate), "encoder.max_bitrate")
		case e.Bitrate < e.MinBitrate || e.Bitrate > e.MaxBitrate:
			v.add("encoder.bitrate", fmt.Sprintf("must be between min_bitrate %v and max_bitrate %v, got %v",
				e.MinBitrate, e.MaxBitrate, e.Bitrate), "encoder.min_bitrate", "encoder.max_bitrate")
		}
	}
	if e.GOP <= 0 || e.GOP > MaxGOP {
		v.add("encoder.gop", fmt.Sprintf("must be above 0 and at most %v, got %v", MaxGOP, e.GOP))
	}
	if e.AdaptUpHold < MinAdaptUpHold || e.AdaptUpHold > MaxAdaptUpHold {
		v.add("encoder.adapt_up_hold", fmt.Sprintf("must be between %v and %v, got %v", MinAdaptUpHold, MaxAdaptUpHold, e.AdaptUpHold))
	}
	if e.AdaptInterval < MinAdaptInterval || e.AdaptInterval > MaxAdaptInterval {
		v.add("encoder.adapt_interval", fmt.Sprintf("must be between %v and %v, got %v", MinAdaptInterval, MaxAdaptInterval, e.AdaptInterval))
	}

	w := c.WebRTC
	if w.UDPPort < 0 || w.UDPPort > 65535 {
		v.add("webrtc.udp_port", fmt.Sprintf("must be between 0 and 65535, got %d", w.UDPPort))
	}
	for i, ip := range w.PublicIPs {
		if net.ParseIP(ip) == nil {
			v.add("webrtc.public_ips", fmt.Sprintf("item %d: %q is not an IP address", i, ip))
		}
	}
	for i, u := range w.ICEServers {
		if err := checkICEServer(u); err != "" {
			v.add("webrtc.ice_servers", fmt.Sprintf("item %d: %s", i, err))
		}
	}
	if w.MaxViewers < 1 || w.MaxViewers > MaxViewersLimit {
		v.add("webrtc.max_viewers", fmt.Sprintf("must be between 1 and %d, got %d", MaxViewersLimit, w.MaxViewers))
	}
	if w.KeyframeMinInterval < 0 || w.KeyframeMinInterval > MaxKeyframeInterval {
		v.add("webrtc.keyframe_min_interval", fmt.Sprintf("must be between 0s and %v, got %v", MaxKeyframeInterval, w.KeyframeMinInterval))
	}
	c.validateRTSP(&v)
	c.validateControl(&v)
	c.validateAuth(&v)
	c.validateWHIP(&v)
	return v.errs.err()
}

// MinTokenLen is the shortest auth.token accepted: 22 base64url
// characters carry 128 bits.
const MinTokenLen = 22

func (c *Config) validateAuth(v *validator) {
	v.oneOf("auth.view", c.Auth.View, AuthViews)
	// The token goes into a URL fragment and an HTTP header. The messages
	// never repeat it: they end up in logs.
	if t := c.Auth.Token; t != "" {
		if len(t) < MinTokenLen {
			v.add("auth.token", fmt.Sprintf("must be at least %d characters (128 bits), got %d; `camd token -new` prints a good one", MinTokenLen, len(t)))
		} else if strings.IndexFunc(t, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.~", r))
		}) >= 0 {
			v.add("auth.token", "may hold only A-Z, a-z, 0-9, '-', '_', '.' and '~'")
		}
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		key, other := "tls.key", "tls.cert"
		if c.TLS.Cert == "" {
			key, other = other, key
		}
		v.add(key, "must be set together with "+other+" (both for HTTPS, neither for HTTP)", other)
	}
	if c.StateDir != "" && !filepath.IsAbs(c.StateDir) {
		v.add("state_dir", fmt.Sprintf("must be an absolute path, got %q", c.StateDir))
	}
}

func (c *Config) validateRTSP(v *validator) {
	r := c.RTSP
	if r.Port < 1 || r.Port > 65535 {
		v.add("rtsp.port", fmt.Sprintf("must be between 1 and 65535, got %d", r.Port))
	}
	switch {
	case r.UDPPort < 0 || r.UDPPort > 65534:
		v.add("rtsp.udp_port", fmt.Sprintf("must be 0 (TCP only) or between 2 and 65534, got %d", r.UDPPort))
	case r.UDPPort%2 != 0:
		v.add("rtsp.udp_port", fmt.Sprintf("must be even (RTP on it, RTCP on the next one), got %d", r.UDPPort))
	}
	p := strings.Trim(r.Path, "/")
	switch {
	case p == "":
		v.add("rtsp.path", "must not be empty")
	case strings.ContainsFunc(p, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./~", c))
	}) || strings.Contains(p, ".."):
		v.add("rtsp.path", fmt.Sprintf("may hold only letters, digits and - _ . / ~, got %q", r.Path))
	}
}

func (c *Config) validateControl(v *validator) {
	sr := c.Serial
	if sr.Baud < 50 || sr.Baud > 4_000_000 {
		v.add("serial.baud", fmt.Sprintf("must be between 50 and 4000000, got %d", sr.Baud))
	}
	v.oneOf("serial.mode", sr.Mode, SerialModes)
	if sr.USB != "" {
		parts := strings.Split(sr.USB, ":")
		ok := len(parts) == 2 || len(parts) == 3
		for _, p := range parts[:min(2, len(parts))] {
			if _, err := strconv.ParseUint(p, 16, 16); err != nil {
				ok = false
			}
		}
		if !ok {
			v.add("serial.usb", fmt.Sprintf(`must be "VID:PID" or "VID:PID:SERIAL" in hex, got %q`, sr.USB))
		}
	}
	for i, cmd := range sr.Commands {
		name, text, ok := strings.Cut(cmd, "=")
		if !ok || strings.TrimSpace(name) == "" || text == "" {
			v.add("serial.commands", fmt.Sprintf(`item %d: want "name=text", got %q`, i, cmd))
		}
	}
	d := c.Drone
	if d.Enabled {
		for _, k := range []struct{ key, val string }{
			{"drone.address", d.Address}, {"drone.state_listen", d.StateListen}, {"drone.video_listen", d.VideoListen},
		} {
			if _, _, err := net.SplitHostPort(k.val); err != nil {
				v.add(k.key, fmt.Sprintf("must be host:port, got %q", k.val))
			}
		}
	}
	if c.Source.Kind == "tello" && !d.Enabled {
		v.add("source.kind", `"tello" needs drone.enabled = true`, "drone.enabled")
	}
	if d.ControllerTimeout < Duration(time.Second) || d.ControllerTimeout > Duration(5*time.Minute) {
		v.add("drone.controller_timeout", fmt.Sprintf("must be between 1s and 5m0s, got %v", d.ControllerTimeout))
	}
	if d.BatteryCritical < 0 || d.BatteryWarn > 100 || d.BatteryCritical > d.BatteryWarn {
		v.add("drone.battery_critical", fmt.Sprintf("need 0 <= battery_critical <= battery_warn <= 100, got %d and %d", d.BatteryCritical, d.BatteryWarn), "drone.battery_warn")
	}
	if c.Control.LeaseIdle < Duration(time.Second) {
		v.add("control.lease_idle", fmt.Sprintf("must be at least 1s, got %v", c.Control.LeaseIdle))
	}
}

type validator struct {
	c    *Config
	errs Errors
}

// add reports a problem with key. Its position is where key was set; if key
// kept its default, the first of related that was set.
func (v *validator) add(key, msg string, related ...string) {
	o, ok := v.c.from[key]
	for _, r := range related {
		if ok {
			break
		}
		o, ok = v.c.from[r]
	}
	v.errs = append(v.errs, &Error{Key: key, Source: o.source, Line: o.line, Msg: msg})
}

func (v *validator) oneOf(key, val string, choices []string) {
	if !slices.Contains(choices, val) {
		v.add(key, fmt.Sprintf("must be one of %s, got %q", strings.Join(choices, ", "), val))
	}
}

func (v *validator) frameSize(key string, n int) {
	switch {
	case n < MinFrameSize || n > MaxFrameSize:
		v.add(key, fmt.Sprintf("must be between %d and %d, got %d", MinFrameSize, MaxFrameSize, n))
	case n%2 != 0:
		v.add(key, fmt.Sprintf("must be even (4:2:0 chroma), got %d", n))
	}
}

// checkName allows a DNS label: [a-z0-9-], 1..63, no hyphen at either end.
func checkName(s string) string {
	if len(s) < 1 || len(s) > 63 {
		return fmt.Sprintf("must be 1 to 63 characters, got %d", len(s))
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Sprintf("may hold only a-z, 0-9 and '-', got %q", s)
		}
	}
	if s[0] == '-' || s[len(s)-1] == '-' {
		return fmt.Sprintf("must not begin or end with '-', got %q", s)
	}
	return ""
}

// checkListen wants host:port with a numeric port; the host may be empty
// (all interfaces).
func checkListen(s string) string {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf(`must be host:port, e.g. ":8080" or "127.0.0.1:8080", got %q`, s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Sprintf("port must be a number from 0 to 65535, got %q", port)
	}
	return ""
}

// checkICEServer accepts stun:, turn: and turns: URLs with something after
// the scheme.
func checkICEServer(u string) string {
	scheme, rest, ok := strings.Cut(u, ":")
	switch {
	case !ok || (scheme != "stun" && scheme != "turn" && scheme != "turns"):
		return fmt.Sprintf("must start with stun:, turn: or turns:, got %q", u)
	case strings.HasPrefix(rest, "//"):
		return fmt.Sprintf("must be written without //, as in %s:host:port, got %q", scheme, u)
	case strings.TrimSpace(rest) == "" || strings.HasSuffix(rest, "@"):
		return fmt.Sprintf("has no host, got %q", u)
	}
	return ""
}

func (c *Config) validateWHIP(v *validator) {
	w := c.WHIP
	if w.URL != "" {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("whip.url", fmt.Sprintf("must be an http:// or https:// URL with a host, got %q", w.URL))
		}
	}
	if strings.ContainsAny(w.Token, " \t\r\n") {
		v.add("whip.token", "must not contain spaces or line breaks")
	}
	if w.BackoffMin < MinWHIPBackoff || w.BackoffMin > MaxWHIPBackoff {
		v.add("whip.backoff_min", fmt.Sprintf("must be between %v and %v, got %v", MinWHIPBackoff, MaxWHIPBackoff, w.BackoffMin))
	}
	if w.BackoffMax < w.BackoffMin || w.BackoffMax > MaxWHIPBackoff {
		v.add("whip.backoff_max", fmt.Sprintf("must be between whip.backoff_min (%v) and %v, got %v", w.BackoffMin, MaxWHIPBackoff, w.BackoffMax), "whip.backoff_min")
	}
}
