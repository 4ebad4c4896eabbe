package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestValidateAdaptAndGrain(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		want []string
	}{
		{"grain limits", func(c *Config) { c.Source.Grain = MaxGrain }, nil},
		{"grain range", func(c *Config) { c.Source.Grain = -1 },
			[]string{`source.grain: must be between 0 and 64, got -1`}},
		{"grain too much", func(c *Config) { c.Source.Grain = 65 },
			[]string{`source.grain: must be between 0 and 64, got 65`}},
		{"adaptive off", func(c *Config) { c.Encoder.Adaptive = false }, nil},
		{"up hold range", func(c *Config) { c.Encoder.AdaptUpHold = Duration(50 * time.Millisecond) },
			[]string{`encoder.adapt_up_hold: must be between 100ms and 10s, got 50ms`}},
		{"interval range", func(c *Config) { c.Encoder.AdaptInterval = Duration(6 * time.Second) },
			[]string{`encoder.adapt_interval: must be between 50ms and 5s, got 6s`}},
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

// The policy keys load from a file and the environment like the others.
func TestLoadAdaptKeys(t *testing.T) {
	path := inTempDir(t, "[encoder]\nadaptive = false\nadapt_up_hold = \"2s\"\n\n[source]\ngrain = 12\n")
	c, err := Load(path, []string{"CAMD_ENCODER_ADAPT_INTERVAL=1s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Encoder.Adaptive || c.Encoder.AdaptUpHold != Duration(2*time.Second) ||
		c.Encoder.AdaptInterval != Duration(time.Second) || c.Source.Grain != 12 {
		t.Fatalf("loaded %+v, source %+v", c.Encoder, c.Source)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
