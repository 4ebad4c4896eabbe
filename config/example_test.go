package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// The example file loads, validates, sets every key, and matches the
// defaults, so it documents them truthfully.
func TestExampleFile(t *testing.T) {
	c, err := Check("camd.example.toml", nil)
	if err != nil {
		t.Fatalf("Check(camd.example.toml): %v", err)
	}
	if !same(c, Default()) {
		t.Errorf("the example differs from Default():\n%s\nwant\n%s", c.TOML(), Default().TOML())
	}
	for _, key := range Keys() {
		if _, ok := c.from[key]; !ok {
			t.Errorf("camd.example.toml does not set %s", key)
		}
	}
	// Each key has a comment line right above it, or shares one with the
	// key above (width and height, the three bitrates).
	text, err := os.ReadFile("camd.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	for i, l := range lines {
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "[") {
			continue
		}
		j := i - 1
		for j >= 0 && lines[j] != "" && !strings.HasPrefix(lines[j], "#") {
			j--
		}
		if j < 0 || !strings.HasPrefix(lines[j], "#") {
			t.Errorf("camd.example.toml:%d: %q has no comment above it", i+1, l)
		}
	}
}

func ExampleLoad() {
	env := []string{"CAMD_SOURCE_KIND=pattern", "CAMD_ENCODER_BITRATE=1.5M"}
	c, err := Load("", env)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Set("source.fps", "15"); err != nil { // a command-line flag
		fmt.Println(err)
		return
	}
	if err := c.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Source.Kind, c.Source.FPS, c.Encoder.Bitrate)
	// Output: pattern 15 1.5Mbps
}

func ExampleConfig_Validate() {
	c := Default()
	c.Source.FPS = 500
	c.Encoder.Bitrate = 8_000_000
	fmt.Println(c.Validate())
	// Output:
	// source.fps: must be between 1 and 240, got 500
	// encoder.bitrate: must be between min_bitrate 150kbps and max_bitrate 6Mbps, got 8Mbps
}
