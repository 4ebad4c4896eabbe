package config

import (
	"bytes"
	"os"
	"testing"
)

// FuzzLoad feeds arbitrary files to the decoder: it must not panic, a
// rejected file must come with at least one problem, and an accepted one
// must survive a round trip through TOML().
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile("camd.example.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add(Default().TOML())
	f.Add([]byte("[source]\nwidht = 1\n[[encoder]]\nx=1\n"))
	f.Add([]byte("source.x.y = 1\n\"a.b\" = 2\n[source.width]\n"))
	f.Add([]byte("name = \"\\u0000\"\n[encoder]\nbitrate = \"2.5 Mbit/s\"\ngop = \"-1s\"\n"))
	f.Add([]byte("[webrtc]\nice_servers = [1, \"a\", [2]]\n"))
	f.Add([]byte("fps = inf\n[source]\nfps = nan\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		errs := c.decode(data, "fuzz.toml")
		for _, e := range errs {
			if e == nil || e.Msg == "" {
				t.Fatalf("empty problem in %v", errs)
			}
		}
		if len(errs) > 0 {
			return
		}
		_ = c.Validate()
		out := c.TOML()
		back := Default()
		if errs := back.decode(out, "out.toml"); len(errs) > 0 {
			t.Fatalf("TOML() output does not load: %v\n%s", errs, out)
		}
		if again := back.TOML(); !bytes.Equal(again, out) {
			t.Fatalf("round trip changed the config:\n%s\nbecame\n%s", out, again)
		}
	})
}

// FuzzParseBitrate checks that any accepted bitrate prints back to itself.
func FuzzParseBitrate(f *testing.F) {
	for _, s := range []string{"2Mbps", "2.5 Mbit/s", "300k", "0.0001G", "1e3", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBitrate(s)
		if err != nil {
			return
		}
		if b < 0 || b > MaxBitrate {
			t.Fatalf("ParseBitrate(%q) = %d, out of range", s, int(b))
		}
		back, err := ParseBitrate(b.String())
		if err != nil || back != b {
			t.Fatalf("ParseBitrate(%q) = %d prints as %q, which parses as %d, %v", s, int(b), b.String(), int(back), err)
		}
	})
}
