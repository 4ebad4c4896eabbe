package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		want []string // problems, without a source (the config is built in code)
	}{
		{"defaults", func(*Config) {}, nil},
		{"name charset", func(c *Config) { c.Name = "Cam_1" },
			[]string{`name: may hold only a-z, 0-9 and '-', got "Cam_1"`}},
		{"name empty", func(c *Config) { c.Name = "" },
			[]string{`name: must be 1 to 63 characters, got 0`}},
		{"name too long", func(c *Config) { c.Name = strings.Repeat("a", 64) },
			[]string{`name: must be 1 to 63 characters, got 64`}},
		{"name hyphen", func(c *Config) { c.Name = "-cam" },
			[]string{`name: must not begin or end with '-', got "-cam"`}},
		{"name longest", func(c *Config) { c.Name = strings.Repeat("a", 63) }, nil},
		{"listen without port", func(c *Config) { c.Listen = "localhost" },
			[]string{`listen: must be host:port, e.g. ":8080" or "127.0.0.1:8080", got "localhost"`}},
		{"listen bad port", func(c *Config) { c.Listen = ":http" },
			[]string{`listen: port must be a number from 0 to 65535, got "http"`}},
		{"listen port range", func(c *Config) { c.Listen = "[::1]:70000" },
			[]string{`listen: port must be a number from 0 to 65535, got "70000"`}},
		{"listen ipv6", func(c *Config) { c.Listen = "[::1]:8080" }, nil},
		{"auth view", func(c *Config) { c.Auth.View = "public" },
			[]string{`auth.view: must be one of token, open, got "public"`}},
		{"auth open", func(c *Config) { c.Auth.View = "open" }, nil},
		{"auth token short", func(c *Config) { c.Auth.Token = "hunter2" },
			[]string{"auth.token: must be at least 22 characters (128 bits), got 7; `camd token -new` prints a good one"}},
		{"auth token charset", func(c *Config) { c.Auth.Token = strings.Repeat("x", 22) + "#frag" },
			[]string{`auth.token: may hold only A-Z, a-z, 0-9, '-', '_', '.' and '~'`}},
		{"auth token ok", func(c *Config) { c.Auth.Token = "abcDEF0123456789-_.~xyz" }, nil},
		{"tls cert alone", func(c *Config) { c.TLS.Cert = "/etc/camd/cert.pem" },
			[]string{`tls.key: must be set together with tls.cert (both for HTTPS, neither for HTTP)`}},
		{"tls key alone", func(c *Config) { c.TLS.Key = "/etc/camd/key.pem" },
			[]string{`tls.cert: must be set together with tls.key (both for HTTPS, neither for HTTP)`}},
		{"state dir relative", func(c *Config) { c.StateDir = "state" },
			[]string{`state_dir: must be an absolute path, got "state"`}},
		{"rtsp ports", func(c *Config) { c.RTSP.Port, c.RTSP.UDPPort = 0, 8001 },
			[]string{`rtsp.port: must be between 1 and 65535, got 0`, `rtsp.udp_port: must be even (RTP on it, RTCP on the next one), got 8001`}},
		{"rtsp udp range", func(c *Config) { c.RTSP.UDPPort = 65536 },
			[]string{`rtsp.udp_port: must be 0 (TCP only) or between 2 and 65534, got 65536`}},
		{"rtsp tcp only", func(c *Config) { c.RTSP.UDPPort = 0 }, nil},
		{"rtsp path", func(c *Config) { c.RTSP.Path = "/" },
			[]string{`rtsp.path: must not be empty`}},
		{"rtsp path charset", func(c *Config) { c.RTSP.Path = "cam one?x" },
			[]string{`rtsp.path: may hold only letters, digits and - _ . / ~, got "cam one?x"`}},
		{"rtsp path nested", func(c *Config) { c.RTSP.Path = "/cams/front" }, nil},
		{"log level", func(c *Config) { c.LogLevel = "verbose" },
			[]string{`log_level: must be one of debug, info, warn, error, got "verbose"`}},
		{"source kind", func(c *Config) { c.Source.Kind = "usb" },
			[]string{`source.kind: must be one of auto, pattern, file, v4l2, exec, tello, got "usb"`}},
		{"file needs path", func(c *Config) { c.Source.Kind = "file" },
			[]string{`source.path: must be set when source.kind is "file"`}},
		{"exec needs command", func(c *Config) { c.Source.Kind = "exec"; c.Source.Command = "  " },
			[]string{`source.command: must be set when source.kind is "exec"`}},
		{"decoder", func(c *Config) { c.Source.Decoder = "hardware" },
			[]string{`source.decoder: must be "auto", "software" or a device path such as "/dev/video10", got "hardware"`}},
		{"decoder path", func(c *Config) { c.Source.Decoder = "/dev/video10" }, nil},
		{"exec format", func(c *Config) { c.Source.Kind, c.Source.Command, c.Source.ExecFormat = "exec", "cam", "rgb24" },
			[]string{`source.exec_format: must be one of h264, nv12, i420, yuyv, got "rgb24"`}},
		{"exec raw frames", func(c *Config) { c.Source.Kind, c.Source.Command, c.Source.ExecFormat = "exec", "cam", "nv12" }, nil},
		{"passthrough of raw exec frames", func(c *Config) {
			c.Source.Kind, c.Source.Command, c.Source.ExecFormat, c.Encoder.Kind = "exec", "cam", "yuyv", "passthrough"
		}, []string{`encoder.kind: "passthrough" needs a source that gives H.264; source.exec_format "yuyv" is raw frames`}},
		{"encoding exec H.264", func(c *Config) { c.Source.Kind, c.Source.Command, c.Encoder.Kind = "exec", "cam", "openh264" },
			[]string{`encoder.kind: "openh264" cannot encode an exec source giving H.264; set source.exec_format to the raw format the command writes, or use "passthrough" or "auto"`}},
		{"size range and parity", func(c *Config) { c.Source.Width, c.Source.Height = 8, 721 },
			[]string{`source.width: must be between 16 and 4096, got 8`, `source.height: must be even (4:2:0 chroma), got 721`}},
		{"size limits", func(c *Config) { c.Source.Width, c.Source.Height = 4096, 16 }, nil},
		{"fps range", func(c *Config) { c.Source.FPS = 500 },
			[]string{`source.fps: must be between 1 and 240, got 500`}},
		{"fps fraction", func(c *Config) { c.Source.FPS = 0.5 },
			[]string{`source.fps: must be between 1 and 240, got 0.5`}},
		{"encoder kind", func(c *Config) { c.Encoder.Kind = "x264" },
			[]string{`encoder.kind: must be one of auto, openh264, v4l2m2m, passthrough, got "x264"`}},
		{"passthrough of raw frames", func(c *Config) { c.Source.Kind = "pattern"; c.Encoder.Kind = "passthrough" },
			[]string{`encoder.kind: "passthrough" needs a source that gives H.264; the test pattern gives raw frames`}},
		{"encoding a file", func(c *Config) { c.Source.Kind, c.Source.Path, c.Encoder.Kind = "file", "a.h264", "openh264" },
			[]string{`encoder.kind: "openh264" cannot encode a file source, which is already H.264; use "passthrough" or "auto"`}},
		{"bitrate above max", func(c *Config) { c.Encoder.Bitrate = 8_000_000 },
			[]string{`encoder.bitrate: must be between min_bitrate 150kbps and max_bitrate 6Mbps, got 8Mbps`}},
		{"bitrate below min", func(c *Config) { c.Encoder.MinBitrate = 3_000_000 },
			[]string{`encoder.bitrate: must be between min_bitrate 3Mbps and max_bitrate 6Mbps, got 2Mbps`}},
		{"min above max", func(c *Config) { c.Encoder.MinBitrate, c.Encoder.MaxBitrate = 5_000_000, 1_000_000 },
			[]string{`encoder.min_bitrate: 5Mbps is above max_bitrate 1Mbps`}},
		{"bitrate missing unit", func(c *Config) { c.Encoder.Bitrate = 2000 },
			[]string{`encoder.bitrate: must be between 10kbps and 100Mbps, got 2kbps`}},
		{"bitrates equal", func(c *Config) { c.Encoder.MinBitrate, c.Encoder.Bitrate, c.Encoder.MaxBitrate = 1e6, 1e6, 1e6 }, nil},
		{"gop zero", func(c *Config) { c.Encoder.GOP = 0 },
			[]string{`encoder.gop: must be above 0 and at most 1m0s, got 0s`}},
		{"udp port", func(c *Config) { c.WebRTC.UDPPort = -1 },
			[]string{`webrtc.udp_port: must be between 0 and 65535, got -1`}},
		{"ice servers", func(c *Config) {
			c.WebRTC.ICEServers = []string{"stun:ok:3478", "http://x", "turn:", "stun://x:1", "turns:u:p@", "turn:u:p@h:3478"}
		}, []string{
			`webrtc.ice_servers: item 1: must start with stun:, turn: or turns:, got "http://x"`,
			`webrtc.ice_servers: item 2: has no host, got "turn:"`,
			`webrtc.ice_servers: item 3: must be written without //, as in stun:host:port, got "stun://x:1"`,
			`webrtc.ice_servers: item 4: has no host, got "turns:u:p@"`,
		}},
		{"max viewers", func(c *Config) { c.WebRTC.MaxViewers = 0 },
			[]string{`webrtc.max_viewers: must be between 1 and 1024, got 0`}},
		{"keyframe interval", func(c *Config) { c.WebRTC.KeyframeMinInterval = Duration(MaxKeyframeInterval + 1) },
			[]string{`webrtc.keyframe_min_interval: must be between 0s and 10s, got 10.000000001s`}},
		{"keyframe interval zero", func(c *Config) { c.WebRTC.KeyframeMinInterval = 0 }, nil},
		{"whip ok", func(c *Config) { c.WHIP.URL, c.WHIP.Token = "https://ingest.example.net/live/camd/whip", "s3cret" }, nil},
		{"whip url", func(c *Config) { c.WHIP.URL = "rtmp://ingest.example.net/live" },
			[]string{`whip.url: must be an http:// or https:// URL with a host, got "rtmp://ingest.example.net/live"`}},
		{"whip token", func(c *Config) { c.WHIP.Token = "Bearer abc" },
			[]string{`whip.token: must not contain spaces or line breaks`}},
		{"whip backoff", func(c *Config) { c.WHIP.BackoffMin, c.WHIP.BackoffMax = Duration(10e9), Duration(1e9) },
			[]string{`whip.backoff_max: must be between whip.backoff_min (10s) and 10m0s, got 1s`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.edit(c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if got := problems(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// Validation errors point at the line, variable or flag that set the value.
func TestValidatePointsAtOrigin(t *testing.T) {
	path := inTempDir(t, `name = "cam"

[source]
kind = "file"
fps = 500

[encoder]
min_bitrate = "3Mbps"
`)
	c, err := Load(path, []string{"CAMD_WEBRTC_MAX_VIEWERS=0"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := c.Set("source.width", "641"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	want := []string{
		// path kept its default: the problem points at the kind that needs it.
		`camd.toml:4: source.path: must be set when source.kind is "file"`,
		`flag: source.width: must be even (4:2:0 chroma), got 641`,
		`camd.toml:5: source.fps: must be between 1 and 240, got 500`,
		`camd.toml:8: encoder.bitrate: must be between min_bitrate 3Mbps and max_bitrate 6Mbps, got 2Mbps`,
		`env CAMD_WEBRTC_MAX_VIEWERS: webrtc.max_viewers: must be between 1 and 1024, got 0`,
	}
	if got := problems(t, c.Validate()); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// A flag repairs the file before validation.
	for key, value := range map[string]string{"source.path": "a.h264", "source.width": "640", "source.fps": "25",
		"encoder.bitrate": "3M", "webrtc.max_viewers": "2"} {
		if err := c.Set(key, value); err != nil {
			t.Fatalf("Set(%s): %v", key, err)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate after the flags: %v", err)
	}
}

func TestValidateControlSections(t *testing.T) {
	c := Default()
	for k, v := range map[string]string{
		"serial.baud": "7", "serial.mode": "binary", "serial.usb": "zz:1", "serial.commands": "pan_left=P-10\n,broken",
		"source.kind": "tello", "drone.controller_timeout": "100ms", "drone.battery_warn": "5", "control.lease_idle": "0s",
	} {
		if err := c.Set(k, v); err != nil {
			t.Fatalf("Set %s: %v", k, err)
		}
	}
	got := problems(t, c.Validate())
	for _, want := range []string{
		"serial.baud: must be between 50 and 4000000, got 7",
		`serial.mode: must be one of lines, raw, got "binary"`,
		`serial.usb: must be "VID:PID" or "VID:PID:SERIAL" in hex, got "zz:1"`,
		`serial.commands: item 1: want "name=text", got "broken"`,
		`source.kind: "tello" needs drone.enabled = true`,
		"drone.controller_timeout: must be between 1s and 5m0s, got 100ms",
		"drone.battery_critical: need 0 <= battery_critical <= battery_warn <= 100, got 10 and 5",
		"control.lease_idle: must be at least 1s, got 0s",
	} {
		found := false
		for _, g := range got {
			if strings.HasSuffix(g, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing %q in:\n%s", want, strings.Join(got, "\n"))
		}
	}
	d := Default()
	_ = d.Set("drone.enabled", "true")
	_ = d.Set("drone.address", "nohost")
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), `drone.address: must be host:port, got "nohost"`) {
		t.Fatalf("bad drone address: %v", err)
	}
}
