package config

import (
	"strings"
	"time"
)

// Config is camd's whole configuration. The TOML file uses the same names
// (see the toml tags); every key is optional.
type Config struct {
	// Name is the instance name, later announced over mDNS: [a-z0-9-],
	// 1 to 63 characters.
	Name string `toml:"name"`
	// Listen is the HTTP listen address, host:port.
	Listen string `toml:"listen"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `toml:"log_level"`
	// StateDir is where camd keeps what it makes itself (the access
	// token). Empty picks one: /var/lib/camd when camd may write there,
	// else $XDG_STATE_HOME/camd, else ~/.local/state/camd.
	StateDir string `toml:"state_dir"`

	Source  Source  `toml:"source"`
	Encoder Encoder `toml:"encoder"`
	WebRTC  WebRTC  `toml:"webrtc"`
	RTSP    RTSP    `toml:"rtsp"`
	MDNS    MDNS    `toml:"mdns"`
	Serial  Serial  `toml:"serial"`
	Drone   Drone   `toml:"drone"`
	Control Control `toml:"control"`
	Auth    Auth    `toml:"auth"`
	TLS     TLS     `toml:"tls"`
	Debug   Debug   `toml:"debug"`
	WHIP    WHIP    `toml:"whip"`

	// from records where each key set after Default came from, so that
	// Validate can point at the line that needs fixing.
	from map[string]origin
}

// Source is the [source] section: where frames come from.
type Source struct {
	// Kind is auto (a V4L2 camera if present, else the test pattern),
	// pattern, file, v4l2 or exec.
	Kind string `toml:"kind"`
	// Device is the V4L2 device path or name (kind v4l2); empty picks the
	// first camera.
	Device string `toml:"device"`
	// Decoder decodes a camera's MJPEG (kind v4l2 or auto): auto (the
	// SoC's M2M decoder when there is one, else software), software
	// (Go's image/jpeg) or the decoder's device path.
	Decoder string `toml:"decoder"`
	// Path is an H.264 Annex-B file (kind file).
	Path string `toml:"path"`
	// Command is the command line to run (kind exec), kept as one string.
	Command string `toml:"command"`
	// ExecFormat is what the command writes to stdout (kind exec): h264
	// (Annex-B, passed through) or raw frames of nv12, i420 or yuyv, back
	// to back, each Width x Height, at FPS.
	ExecFormat string  `toml:"exec_format"`
	Width      int     `toml:"width"`
	Height     int     `toml:"height"`
	FPS        float64 `toml:"fps"`
	// Grain adds moving film grain of this amplitude (0 to 64) to the
	// test pattern, so that it takes as many bits as a camera picture;
	// 0 keeps it clean.
	Grain int `toml:"grain"`
}

// Encoder is the [encoder] section.
type Encoder struct {
	// Kind is auto, openh264, v4l2m2m or passthrough.
	Kind string `toml:"kind"`
	// Device is the M2M encoder device path (kind v4l2m2m); empty finds one.
	Device string `toml:"device"`
	// Bitrate is the initial target; adaptation stays within
	// MinBitrate..MaxBitrate.
	Bitrate    Bitrate `toml:"bitrate"`
	MinBitrate Bitrate `toml:"min_bitrate"`
	MaxBitrate Bitrate `toml:"max_bitrate"`
	// GOP is the time between periodic keyframes.
	GOP Duration `toml:"gop"`
	// Adaptive follows the viewers' networks: the target is the lowest
	// viewer's bandwidth estimate within MinBitrate..MaxBitrate. Off, the
	// bitrate stays at Bitrate.
	Adaptive bool `toml:"adaptive"`
	// AdaptUpHold is how long every viewer's estimate must stay above the
	// target before each step up.
	AdaptUpHold Duration `toml:"adapt_up_hold"`
	// AdaptInterval is the least time between two bitrate changes.
	AdaptInterval Duration `toml:"adapt_interval"`
}

// WebRTC is the [webrtc] section.
type WebRTC struct {
	// UDPPort is the one UDP port every viewer's media shares (so one
	// firewall rule is enough); 0 gives each viewer ephemeral ports.
	UDPPort int `toml:"udp_port"`
	// PublicIPs are addresses to announce instead of the host's own, for a
	// camera behind a 1:1 NAT (a cloud VM, a port-forwarded router).
	PublicIPs []string `toml:"public_ips"`
	// Interfaces limits ICE candidates to these network interfaces
	// (e.g. ["wlan0"]); empty means all.
	Interfaces []string `toml:"interfaces"`
	// ICEServers are STUN and TURN URLs: "stun:host:port",
	// "turn:user:pass@host:port", "turns:…".
	ICEServers []string `toml:"ice_servers"`
	// MaxViewers caps concurrent viewer sessions.
	MaxViewers int `toml:"max_viewers"`
	// KeyframeMinInterval coalesces keyframe requests (PLI, FIR, new
	// viewers): at most one forced keyframe per interval.
	KeyframeMinInterval Duration `toml:"keyframe_min_interval"`
}

// RTSP is the [rtsp] section: the same encode for RTSP players, recorders
// and NVRs, at rtsp://host:Port/Path.
type RTSP struct {
	// Enabled turns the RTSP server on.
	Enabled bool `toml:"enabled"`
	// Port is the RTSP (TCP) port; RTP can always travel inside the TCP
	// connection.
	Port int `toml:"port"`
	// UDPPort is the even port RTP leaves from with the UDP transport
	// (RTCP uses UDPPort+1); 0 offers TCP only.
	UDPPort int `toml:"udp_port"`
	// Path is the stream's path in the URL, without the leading slash.
	Path string `toml:"path"`
}

// MDNS is the [mdns] section: the <name>.local host name and the DNS-SD
// services that make the camera findable on the LAN.
type MDNS struct {
	// Enabled turns the responder on.
	Enabled bool `toml:"enabled"`
	// Interfaces limits mDNS to these interfaces; empty means every
	// multicast-capable one.
	Interfaces []string `toml:"interfaces"`
}

// Serial is the [serial] section: a serial port bridged to the page's
// control channel (pan/tilt heads, flight controllers, microcontrollers).
type Serial struct {
	// Port is the device path ("/dev/ttyUSB0"); empty means no bridge
	// unless USB names the device.
	Port string `toml:"port"`
	// USB picks the port by "VID:PID" or "VID:PID:SERIAL" (hex), which
	// survives re-plugging into another socket.
	USB string `toml:"usb"`
	// Baud is the line speed (8N1 framing).
	Baud int `toml:"baud"`
	// Mode is "lines" (text, one message per line) or "raw" (bytes).
	Mode string `toml:"mode"`
	// Commands are named commands shown as buttons: "name=text", where
	// text may hold \n and {n} for a number the page asks for, e.g.
	// ["pan_left=P-10\n", "pan=P{n}\n"].
	Commands []string `toml:"commands"`
}

// Drone is the [drone] section: a DJI Tello flown from the page.
type Drone struct {
	Enabled bool `toml:"enabled"`
	// Address is the drone's command address.
	Address string `toml:"address"`
	// StateListen and VideoListen are where the drone sends telemetry and
	// video.
	StateListen string `toml:"state_listen"`
	VideoListen string `toml:"video_listen"`
	// ControllerTimeout lands the drone when no controller input came for
	// this long.
	ControllerTimeout Duration `toml:"controller_timeout"`
	// BatteryWarn and BatteryCritical are percentages: a warning below
	// the first, a landing below the second.
	BatteryWarn     int `toml:"battery_warn"`
	BatteryCritical int `toml:"battery_critical"`
}

// Control is the [control] section.
type Control struct {
	// LeaseIdle releases the control lease of a viewer that sent nothing
	// for this long (never while the drone flies).
	LeaseIdle Duration `toml:"lease_idle"`
}

// Auth is the [auth] section: who may watch and who may steer.
type Auth struct {
	// View is "token" (watching needs the access token) or "open"
	// (anyone who reaches the port may watch). Control always needs the
	// token.
	View string `toml:"view"`
	// Token, when set, is the access token instead of the one camd makes
	// and keeps in StateDir: the same token for a fleet of cameras. At
	// least 22 URL-safe characters (128 bits).
	Token string `toml:"token"`
}

// TLS is the [tls] section: HTTPS with a certificate of your own.
type TLS struct {
	// Cert and Key are PEM files; set both to serve HTTPS, neither for
	// plain HTTP.
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
}

// Debug is the [debug] section: help for developers, never for production.
type Debug struct {
	// KeylogFile, when set, appends the DTLS keys of every viewer session
	// to this file in the NSS key log format (SSLKEYLOGFILE), so Wireshark
	// can decrypt camd's DTLS; the SRTP keys are exported from those
	// secrets (RFC 5764), so anyone who can read the file can decrypt the
	// video too. camd warns loudly while it is on.
	KeylogFile string `toml:"keylog_file"`
}

// WHIP is the [whip] section: camd publishes its stream to a WHIP
// endpoint (RFC 9725), a media server or SFU that fans it out further.
type WHIP struct {
	// URL is the endpoint, http:// or https://; empty means no push.
	URL string `toml:"url"`
	// Token is sent as Authorization: Bearer (CAMD_WHIP_TOKEN keeps it
	// out of the file).
	Token string `toml:"token"`
	// BackoffMin and BackoffMax bound the wait before reconnecting: it
	// doubles after each failure, with jitter.
	BackoffMin Duration `toml:"backoff_min"`
	BackoffMax Duration `toml:"backoff_max"`
}

// origin is where a value came from.
type origin struct {
	source string // file path, "env CAMD_X" or "flag"
	line   int
}

// Default returns the built-in configuration, which is valid as it is.
func Default() *Config {
	return &Config{
		Name:     "camd",
		Listen:   ":8080",
		LogLevel: "info",
		Source: Source{
			Kind:       "auto",
			Decoder:    "auto",
			ExecFormat: "h264",
			Width:      1280,
			Height:     720,
			FPS:        30,
		},
		Encoder: Encoder{
			Kind:       "auto",
			Bitrate:    2_000_000,
			MinBitrate: 150_000,
			MaxBitrate: 6_000_000,
			GOP:        Duration(2 * time.Second),

			Adaptive:      true,
			AdaptUpHold:   Duration(500 * time.Millisecond),
			AdaptInterval: Duration(250 * time.Millisecond),
		},
		WebRTC: WebRTC{
			UDPPort:             8189,
			PublicIPs:           []string{},
			Interfaces:          []string{},
			ICEServers:          []string{},
			MaxViewers:          16,
			KeyframeMinInterval: Duration(500 * time.Millisecond),
		},
		RTSP:   RTSP{Enabled: true, Port: 8554, UDPPort: 8000, Path: "camd"},
		MDNS:   MDNS{Enabled: true, Interfaces: []string{}},
		Serial: Serial{Baud: 115200, Mode: "lines", Commands: []string{}},
		Drone: Drone{
			Address:           "192.168.10.1:8889",
			StateListen:       ":8890",
			VideoListen:       ":11111",
			ControllerTimeout: Duration(10 * time.Second),
			BatteryWarn:       20,
			BatteryCritical:   10,
		},
		Control: Control{LeaseIdle: Duration(60 * time.Second)},
		Auth:    Auth{View: "token"},
		WHIP:    WHIP{BackoffMin: Duration(time.Second), BackoffMax: Duration(30 * time.Second)},
	}
}

// field is one settable key and the address of its value.
type field struct {
	key string
	ptr func(c *Config) any // *string, *int, *float64, *bool, *Bitrate, *Duration or *[]string
}

// fields lists every key in the order TOML prints them: top-level keys
// first, then each section.
var fields = []field{
	{"name", func(c *Config) any { return &c.Name }},
	{"listen", func(c *Config) any { return &c.Listen }},
	{"log_level", func(c *Config) any { return &c.LogLevel }},
	{"state_dir", func(c *Config) any { return &c.StateDir }},

	{"source.kind", func(c *Config) any { return &c.Source.Kind }},
	{"source.device", func(c *Config) any { return &c.Source.Device }},
	{"source.decoder", func(c *Config) any { return &c.Source.Decoder }},
	{"source.path", func(c *Config) any { return &c.Source.Path }},
	{"source.command", func(c *Config) any { return &c.Source.Command }},
	{"source.exec_format", func(c *Config) any { return &c.Source.ExecFormat }},
	{"source.width", func(c *Config) any { return &c.Source.Width }},
	{"source.height", func(c *Config) any { return &c.Source.Height }},
	{"source.fps", func(c *Config) any { return &c.Source.FPS }},
	{"source.grain", func(c *Config) any { return &c.Source.Grain }},

	{"encoder.kind", func(c *Config) any { return &c.Encoder.Kind }},
	{"encoder.device", func(c *Config) any { return &c.Encoder.Device }},
	{"encoder.bitrate", func(c *Config) any { return &c.Encoder.Bitrate }},
	{"encoder.min_bitrate", func(c *Config) any { return &c.Encoder.MinBitrate }},
	{"encoder.max_bitrate", func(c *Config) any { return &c.Encoder.MaxBitrate }},
	{"encoder.gop", func(c *Config) any { return &c.Encoder.GOP }},
	{"encoder.adaptive", func(c *Config) any { return &c.Encoder.Adaptive }},
	{"encoder.adapt_up_hold", func(c *Config) any { return &c.Encoder.AdaptUpHold }},
	{"encoder.adapt_interval", func(c *Config) any { return &c.Encoder.AdaptInterval }},

	{"webrtc.udp_port", func(c *Config) any { return &c.WebRTC.UDPPort }},
	{"webrtc.public_ips", func(c *Config) any { return &c.WebRTC.PublicIPs }},
	{"webrtc.interfaces", func(c *Config) any { return &c.WebRTC.Interfaces }},
	{"webrtc.ice_servers", func(c *Config) any { return &c.WebRTC.ICEServers }},
	{"webrtc.max_viewers", func(c *Config) any { return &c.WebRTC.MaxViewers }},
	{"webrtc.keyframe_min_interval", func(c *Config) any { return &c.WebRTC.KeyframeMinInterval }},

	{"rtsp.enabled", func(c *Config) any { return &c.RTSP.Enabled }},
	{"rtsp.port", func(c *Config) any { return &c.RTSP.Port }},
	{"rtsp.udp_port", func(c *Config) any { return &c.RTSP.UDPPort }},
	{"rtsp.path", func(c *Config) any { return &c.RTSP.Path }},

	{"mdns.enabled", func(c *Config) any { return &c.MDNS.Enabled }},
	{"mdns.interfaces", func(c *Config) any { return &c.MDNS.Interfaces }},

	{"serial.port", func(c *Config) any { return &c.Serial.Port }},
	{"serial.usb", func(c *Config) any { return &c.Serial.USB }},
	{"serial.baud", func(c *Config) any { return &c.Serial.Baud }},
	{"serial.mode", func(c *Config) any { return &c.Serial.Mode }},
	{"serial.commands", func(c *Config) any { return &c.Serial.Commands }},

	{"drone.enabled", func(c *Config) any { return &c.Drone.Enabled }},
	{"drone.address", func(c *Config) any { return &c.Drone.Address }},
	{"drone.state_listen", func(c *Config) any { return &c.Drone.StateListen }},
	{"drone.video_listen", func(c *Config) any { return &c.Drone.VideoListen }},
	{"drone.controller_timeout", func(c *Config) any { return &c.Drone.ControllerTimeout }},
	{"drone.battery_warn", func(c *Config) any { return &c.Drone.BatteryWarn }},
	{"drone.battery_critical", func(c *Config) any { return &c.Drone.BatteryCritical }},

	{"control.lease_idle", func(c *Config) any { return &c.Control.LeaseIdle }},

	{"auth.view", func(c *Config) any { return &c.Auth.View }},
	{"auth.token", func(c *Config) any { return &c.Auth.Token }},

	{"tls.cert", func(c *Config) any { return &c.TLS.Cert }},
	{"tls.key", func(c *Config) any { return &c.TLS.Key }},

	{"debug.keylog_file", func(c *Config) any { return &c.Debug.KeylogFile }},
	{"whip.url", func(c *Config) any { return &c.WHIP.URL }},
	{"whip.token", func(c *Config) any { return &c.WHIP.Token }},
	{"whip.backoff_min", func(c *Config) any { return &c.WHIP.BackoffMin }},
	{"whip.backoff_max", func(c *Config) any { return &c.WHIP.BackoffMax }},
}

// Keys returns every dotted key, in file order.
func Keys() []string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return keys
}

// EnvName returns the environment variable that sets key:
// "encoder.min_bitrate" → "CAMD_ENCODER_MIN_BITRATE".
func EnvName(key string) string {
	return "CAMD_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func lookupField(key string) (field, bool) {
	for _, f := range fields {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

// isSection reports whether name is a section ([source], …).
func isSection(name string) bool {
	for _, f := range fields {
		if sec, _, ok := strings.Cut(f.key, "."); ok && sec == name {
			return true
		}
	}
	return false
}

// note records where key's value came from.
func (c *Config) note(key string, o origin) {
	if c.from == nil {
		c.from = make(map[string]origin)
	}
	c.from[key] = o
}
