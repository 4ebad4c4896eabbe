package config

import (
	"math"
	"testing"
)

func TestTOMLValues(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{ptr("plain"), `"plain"`},
		{ptr("a\"b\\c\n\t\r\x01\x7f"), `"a\"b\\c\n\t\r\u0001\u007f"`},
		{ptr("bad \xff utf8, real \uFFFD"), `"bad \uFFFD utf8, real ` + "\uFFFD" + `"`},
		{ptr(30.0), "30.0"},
		{ptr(29.97), "29.97"},
		{ptr(1e300), "1e+300"},
		{ptr(math.Inf(1)), "inf"},
		{ptr(math.Inf(-1)), "-inf"},
		{ptr(math.NaN()), "nan"},
		{ptr(-7), "-7"},
		{ptr(Bitrate(150_000)), `"150kbps"`},
		{ptr(Duration(1500e6)), `"1.5s"`},
		{ptr([]string{}), "[]"},
		{ptr([]string{"stun:a:1", `x"y`}), `["stun:a:1", "x\"y"]`},
	}
	for _, tt := range tests {
		if got := tomlValue(tt.in); got != tt.want {
			t.Errorf("tomlValue(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// Values set from flags, which may hold anything, still load back.
func TestTOMLRoundTripControlChars(t *testing.T) {
	c := Default()
	if err := c.Set("source.command", "cam\x00\x1b[0m \xfe\"\\"); err != nil {
		t.Fatal(err)
	}
	back := Default()
	if errs := back.decode(c.TOML(), "x.toml"); len(errs) > 0 {
		t.Fatalf("decode(TOML()): %v\n%s", errs, c.TOML())
	}
	if want := "cam\x00\x1b[0m \uFFFD\"\\"; back.Source.Command != want {
		t.Errorf("command = %q, want %q", back.Source.Command, want)
	}
}

func TestCheckReportsLoadErrors(t *testing.T) {
	if _, err := Check("", []string{"CAMD_NOPE=1"}); err == nil {
		t.Error("Check accepted an unknown variable")
	}
	if _, err := Check("", []string{"CAMD_SOURCE_FPS=0"}); err == nil {
		t.Error("Check accepted fps 0")
	}
}

func ptr[T any](v T) *T { return &v }
