package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// inTempDir moves the test into a fresh directory holding camd.toml with
// the given text, so that errors name the file as "camd.toml".
func inTempDir(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, "camd.toml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return "camd.toml"
}

// problems returns the text of each problem in err.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v (%T) is not an Errors", err, err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	return out
}

// same reports whether a and b hold the same settings.
func same(a, b *Config) bool {
	x, y := *a, *b
	x.from, y.from = nil, nil
	return reflect.DeepEqual(x, y)
}

func TestLoadNoFile(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !same(c, Default()) {
		t.Errorf("Load(\"\", nil) = %+v, want the defaults", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestLoadFile(t *testing.T) {
	path := inTempDir(t, `
name = "porch"
listen = "127.0.0.1:9000"

[source]
kind = "file"
path = "clip.h264"
fps = 29.97

[encoder]
bitrate = "2.5 Mbit/s"
min_bitrate = 300000
gop = "1s"

[webrtc]
ice_servers = ["stun:stun.example.org:3478"]
max_viewers = 4
`)
	c, err := Check(path, nil)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := Default()
	want.Name = "porch"
	want.Listen = "127.0.0.1:9000"
	want.Source.Kind = "file"
	want.Source.Path = "clip.h264"
	want.Source.FPS = 29.97
	want.Encoder.Bitrate = 2_500_000
	want.Encoder.MinBitrate = 300_000
	want.Encoder.GOP = Duration(time.Second)
	want.WebRTC.ICEServers = []string{"stun:stun.example.org:3478"}
	want.WebRTC.MaxViewers = 4
	if !same(c, want) {
		t.Errorf("loaded\n%s\nwant\n%s", c.TOML(), want.TOML())
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{
			name: "unknown key with line",
			file: "name = \"a\"\n\n[source]\nkind = \"pattern\"\nwidht = 640\n",
			want: []string{`camd.toml:5: source.widht: unknown key (did you mean "source.width"?)`},
		},
		{
			name: "key in the wrong section",
			file: "[source]\nbitrate = \"1M\"\n",
			want: []string{`camd.toml:2: source.bitrate: unknown key (did you mean "encoder.bitrate"?)`},
		},
		{
			name: "unknown top-level key",
			file: "name = \"a\"\nport = 80\n",
			want: []string{`camd.toml:2: port: unknown key (did you mean "rtsp.port"?)`},
		},
		{
			name: "unknown section reported once",
			file: "[sorce]\nkind = \"file\"\npath = \"x\"\n",
			want: []string{`camd.toml:1: sorce: unknown key (did you mean "source"?)`},
		},
		{
			name: "unknown sub-table",
			file: "[source]\nkind = \"auto\"\n[source.extra]\na = 1\nb = 2\n",
			want: []string{`camd.toml:3: source.extra: unknown key`},
		},
		{
			name: "unknown dotted key",
			file: "source.kind = \"auto\"\nsource.x.y = 1\n",
			want: []string{`camd.toml:2: source.x.y: unknown key`},
		},
		{
			name: "section that is not a table",
			file: "source = \"pattern\"\n",
			want: []string{`camd.toml:1: source: must be a table, got string "pattern"; write [source] above its keys`},
		},
		{
			name: "array of tables",
			file: "[[encoder]]\nkind = \"auto\"\n",
			want: []string{`camd.toml:1: encoder: must be a table, got array; write [encoder] above its keys`},
		},
		{
			name: "wrong types",
			file: "name = 5\n[source]\nwidth = \"wide\"\nheight = 1.5\nfps = \"fast\"\n[webrtc]\nice_servers = \"stun:x\"\nmax_viewers = true\n",
			want: []string{
				`camd.toml:1: name: wrong type: must be a string, got integer 5`,
				`camd.toml:3: source.width: wrong type: must be an integer, got string "wide"`,
				`camd.toml:4: source.height: wrong type: must be an integer, got float 1.5`,
				`camd.toml:5: source.fps: wrong type: must be a number, got string "fast"`,
				`camd.toml:7: webrtc.ice_servers: wrong type: must be an array of strings, got string "stun:x"`,
				`camd.toml:8: webrtc.max_viewers: wrong type: must be an integer, got boolean true`,
			},
		},
		{
			name: "wrong item type in a list",
			file: "[webrtc]\nice_servers = [\n  \"stun:a:3478\",\n  7,\n]\n",
			want: []string{`camd.toml:2: webrtc.ice_servers: item 1: wrong type: must be a string, got integer 7`},
		},
		{
			name: "key given as a table",
			file: "[source.width]\nx = 1\n",
			want: []string{`camd.toml:1: source.width: wrong type: must be an integer, got table`},
		},
		{
			name: "bad bitrate strings",
			file: "[encoder]\nbitrate = \"2MBps\"\nmin_bitrate = \"slow\"\nmax_bitrate = -5\n",
			want: []string{
				`camd.toml:2: encoder.bitrate: bitrate "2MBps" is in bytes (B); write bits, e.g. "2Mbps"`,
				`camd.toml:3: encoder.min_bitrate: "slow" is not a bitrate; write e.g. "2Mbps", "300kbps" or bits per second`,
				`camd.toml:4: encoder.max_bitrate: bitrate -5 must be between 0 and 2000000000 bits/s`,
			},
		},
		{
			name: "bad durations",
			file: "[encoder]\ngop = 2\n[webrtc]\nkeyframe_min_interval = \"-1s\"\n",
			want: []string{
				`camd.toml:2: encoder.gop: wrong type: must be a duration string such as "2s", got integer 2`,
				`camd.toml:4: webrtc.keyframe_min_interval: duration "-1s" must not be negative`,
			},
		},
		{
			name: "quoted key with a dot is not a dotted key",
			file: "\"source.kind\" = \"file\"\n",
			want: []string{`camd.toml:1: "source.kind": unknown key (the quotes make the dot part of one name; write source.kind without quotes)`},
		},
		{
			name: "syntax error keeps line and column",
			file: "name = \"a\"\n[source]\nwidth = = 3\n",
			want: []string{`camd.toml:3:9: expected value but found '=' instead`},
		},
		{
			name: "unterminated string",
			file: "name = \"a\n",
			want: []string{`camd.toml:1:10: strings cannot contain newlines`},
		},
		{
			name: "duplicate key",
			file: "name = \"a\"\nname = \"b\"\n",
			want: []string{`camd.toml:2:12: Key 'name' has already been defined.`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := inTempDir(t, tt.file)
			c, err := Load(path, nil)
			if err == nil {
				t.Fatalf("Load succeeded with\n%s", c.TOML())
			}
			if c != nil {
				t.Errorf("Load returned a config with its error")
			}
			got := problems(t, err)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"), nil)
	if err == nil || !strings.HasSuffix(err.Error(), "nope.toml: config file not found") {
		t.Errorf("Load(missing) = %v, want an error naming the file", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
	_, err = Load(t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "cannot read config file: is a directory") {
		t.Errorf("Load(dir) = %v, want a read error", err)
	}
}

func TestLoadEnv(t *testing.T) {
	path := inTempDir(t, "listen = \":9000\"\n[source]\nkind = \"pattern\"\n")
	env := []string{
		"HOME=/root",
		"CAMD_LISTEN=:7000",
		"CAMD_SOURCE_WIDTH=640",
		"CAMD_SOURCE_HEIGHT=480",
		"CAMD_ENCODER_BITRATE=1.5M",
		"CAMD_ENCODER_GOP=1s",
		"CAMD_WEBRTC_ICE_SERVERS=stun:a:3478, turn:u:p@b:3478",
		"CAMD_LOG_LEVEL=warn",
		"CAMD_LOG_LEVEL=debug", // later wins
		"CAMD_CHROMIUM=/usr/lib/chromium/chromium",
		"CAMD_TEST_VM=1",
		"camd_listen=ignored",
	}
	c, err := Check(path, env)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := Default()
	want.Listen = ":7000"
	want.LogLevel = "debug"
	want.Source.Kind = "pattern"
	want.Source.Width, want.Source.Height = 640, 480
	want.Encoder.Bitrate = 1_500_000
	want.Encoder.GOP = Duration(time.Second)
	want.WebRTC.ICEServers = []string{"stun:a:3478", "turn:u:p@b:3478"}
	if !same(c, want) {
		t.Errorf("loaded\n%s\nwant\n%s", c.TOML(), want.TOML())
	}
}

func TestLoadEnvErrors(t *testing.T) {
	env := []string{
		"CAMD_SOURCE_FPS=fast",
		"CAMD_ENCODER_BITRATE=2MB",
		"CAMD_SOURCE_KINDD=v4l2",
		"CAMD_SOURCE=v4l2",
		"CAMD_WEBRTC_MAX_VIEWERS=",
		"CAMD_ENCODER_GOP=5",
	}
	_, err := Load("", env)
	want := []string{
		`env CAMD_SOURCE_FPS: source.fps: must be a number, got "fast"`,
		`env CAMD_ENCODER_BITRATE: encoder.bitrate: bitrate "2MB" is in bytes (B); write bits, e.g. "2Mbps"`,
		`env CAMD_SOURCE_KINDD: unknown variable (did you mean CAMD_SOURCE_KIND?)`,
		`env CAMD_SOURCE: unknown variable`,
		`env CAMD_WEBRTC_MAX_VIEWERS: webrtc.max_viewers: must be an integer, got ""`,
		`env CAMD_ENCODER_GOP: encoder.gop: duration "5" needs a unit, e.g. "5s" or "5ms"`,
	}
	if got := problems(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestEnvAllowList(t *testing.T) {
	saved := EnvAllowList
	t.Cleanup(func() { EnvAllowList = saved })
	if _, err := Load("", []string{"CAMD_CONFIG=/etc/camd.toml"}); err == nil {
		t.Fatal("CAMD_CONFIG accepted before it was allowed")
	}
	EnvAllowList = append(EnvAllowList, "CAMD_CONFIG")
	if _, err := Load("", []string{"CAMD_CONFIG=/etc/camd.toml"}); err != nil {
		t.Fatalf("CAMD_CONFIG still rejected: %v", err)
	}
}

func TestFileAndEnvErrorsTogether(t *testing.T) {
	path := inTempDir(t, "[source]\nwidth = \"x\"\nheigth = 4\n")
	_, err := Load(path, []string{"CAMD_NOPE=1"})
	got := problems(t, err)
	if len(got) != 3 {
		t.Fatalf("got %d problems, want 3 (two in the file, one in env):\n%s", len(got), err)
	}
}

func TestTOMLRoundTrip(t *testing.T) {
	c := Default()
	c.Name = "cam-2"
	c.Source.Kind = "exec"
	c.Source.Command = `rpicam-vid -t 0 --codec h264 -o - # "quoted" \ back`
	c.Source.Device = "Logitech\tC920\n"
	c.Source.FPS = 29.97
	c.Encoder.Kind = "passthrough"
	c.Encoder.Bitrate = 2_500_001
	c.Encoder.GOP = Duration(1500 * time.Millisecond)
	c.WebRTC.ICEServers = []string{"stun:a:1", "turns:u:p@b:5349"}
	c.WebRTC.UDPPort = 50000

	path := inTempDir(t, string(c.TOML()))
	back, err := Check(path, nil)
	if err != nil {
		t.Fatalf("Check(TOML()): %v\n%s", err, c.TOML())
	}
	if !same(c, back) {
		t.Errorf("round trip changed the config:\n%s\nbecame\n%s", c.TOML(), back.TOML())
	}
	for _, key := range Keys() {
		name := key[strings.LastIndexByte(key, '.')+1:]
		if !strings.Contains("\n"+string(c.TOML()), "\n"+name+" = ") {
			t.Errorf("TOML() has no line for %s", key)
		}
	}
}
