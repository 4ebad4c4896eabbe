package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSet(t *testing.T) {
	c := Default()
	sets := [][2]string{
		{"name", "garage"},
		{"listen", "0.0.0.0:80"},
		{"source.kind", "v4l2"},
		{"source.device", "/dev/video2"},
		{"source.width", " 1920 "},
		{"source.height", "1080"},
		{"source.fps", "59.94"},
		{"encoder.bitrate", "4Mbps"},
		{"encoder.max_bitrate", "8M"},
		{"encoder.gop", "3s"},
		{"webrtc.ice_servers", "stun:a:1,,stun:b:2 "},
		{"webrtc.keyframe_min_interval", "0s"},
	}
	for _, s := range sets {
		if err := c.Set(s[0], s[1]); err != nil {
			t.Fatalf("Set(%q, %q): %v", s[0], s[1], err)
		}
	}
	want := Default()
	want.Name, want.Listen = "garage", "0.0.0.0:80"
	want.Source = Source{Kind: "v4l2", Device: "/dev/video2", Decoder: "auto", ExecFormat: "h264", Width: 1920, Height: 1080, FPS: 59.94}
	want.Encoder.Bitrate, want.Encoder.MaxBitrate = 4_000_000, 8_000_000
	want.Encoder.GOP = Duration(3 * time.Second)
	want.WebRTC.ICEServers = []string{"stun:a:1", "stun:b:2"}
	want.WebRTC.KeyframeMinInterval = 0
	if !same(c, want) {
		t.Errorf("after Set:\n%s\nwant\n%s", c.TOML(), want.TOML())
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if err := c.Set("webrtc.ice_servers", ""); err != nil || len(c.WebRTC.ICEServers) != 0 {
		t.Errorf("Set(ice_servers, \"\") = %v, list %q; want an empty list", err, c.WebRTC.ICEServers)
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct{ key, value, want string }{
		{"port", "80", `flag: port: unknown key (did you mean "rtsp.port"?)`},
		{"source.widht", "80", `flag: source.widht: unknown key (did you mean "source.width"?)`},
		{"width", "80", `flag: width: unknown key (did you mean "source.width"?)`},
		{"Source.Kind", "file", `flag: Source.Kind: unknown key (did you mean "source.kind"?)`},
		{"source.width", "1280px", `flag: source.width: must be an integer, got "1280px"`},
		{"source.width", "99999999999999999999", `flag: source.width: must be an integer, got "99999999999999999999"`},
		{"source.fps", "NaN", `flag: source.fps: must be a number, got "NaN"`},
		{"encoder.bitrate", "2 MB/s", `flag: encoder.bitrate: bitrate "2 MB/s" is in bytes (B); write bits, e.g. "2Mbps"`},
		{"encoder.gop", "2 s", `flag: encoder.gop: "2 s" is not a duration; write e.g. "2s" or "500ms"`},
	}
	for _, tt := range tests {
		c := Default()
		err := c.Set(tt.key, tt.value)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Set(%q, %q) = %v, want %s", tt.key, tt.value, err, tt.want)
		}
		if !same(c, Default()) {
			t.Errorf("Set(%q, %q) changed the config although it failed", tt.key, tt.value)
		}
	}
}

func TestKeysAndEnvNames(t *testing.T) {
	keys := Keys()
	if len(keys) != 57 || keys[0] != "name" || keys[len(keys)-1] != "whip.backoff_max" {
		t.Errorf("Keys() = %q", keys)
	}
	names := map[string]string{
		"listen":              "CAMD_LISTEN",
		"log_level":           "CAMD_LOG_LEVEL",
		"source.kind":         "CAMD_SOURCE_KIND",
		"encoder.min_bitrate": "CAMD_ENCODER_MIN_BITRATE",
		"auth.token":          "CAMD_AUTH_TOKEN",
		"whip.token":          "CAMD_WHIP_TOKEN",
	}
	for key, want := range names {
		if got := EnvName(key); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", key, got, want)
		}
	}
	// Every key reaches its own field, and the keys are the toml tags of
	// the struct fields.
	c := Default()
	seen := map[uintptr]string{}
	for _, f := range fields {
		p := reflect.ValueOf(f.ptr(c)).Pointer()
		if prev, dup := seen[p]; dup {
			t.Errorf("%s and %s share a field", f.key, prev)
		}
		seen[p] = f.key
	}
	var tags []string
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		sf := ct.Field(i)
		tag := sf.Tag.Get("toml")
		switch {
		case tag == "":
		case sf.Type.Kind() == reflect.Struct:
			for j := range sf.Type.NumField() {
				tags = append(tags, tag+"."+sf.Type.Field(j).Tag.Get("toml"))
			}
		default:
			tags = append(tags, tag)
		}
	}
	if !reflect.DeepEqual(tags, keys) {
		t.Errorf("struct tags %q\ndiffer from Keys() %q", tags, keys)
	}
}

func TestSetBoolAndLists(t *testing.T) {
	c := Default()
	if !c.MDNS.Enabled {
		t.Fatal("mdns is on by default")
	}
	if err := c.Set("mdns.enabled", "false"); err != nil || c.MDNS.Enabled {
		t.Fatalf("Set mdns.enabled=false: %v, enabled=%v", err, c.MDNS.Enabled)
	}
	if err := c.Set("mdns.enabled", "maybe"); err == nil || !strings.Contains(err.Error(), "true or false") {
		t.Fatalf("Set mdns.enabled=maybe: %v", err)
	}
	if err := c.Set("webrtc.public_ips", "203.0.113.7, not-an-ip"); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `webrtc.public_ips: item 1: "not-an-ip" is not an IP address`) {
		t.Fatalf("Validate: %v", err)
	}
	cfg, err := Load(inTempDir(t, "[mdns]\nenabled = \"yes\"\n"), nil)
	if err == nil || !strings.Contains(err.Error(), ":2: mdns.enabled") {
		t.Fatalf("a string for a bool: %v (%v)", err, cfg)
	}
}
