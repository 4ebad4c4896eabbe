package config

import (
	"fmt"
	"strings"
	"time"
)

// Duration is a time.Duration that reads and writes Go duration strings
// ("2s", "500ms", "1m30s"). Negative durations are refused: no setting in
// camd has a use for one. Convert with time.Duration(d).
type Duration time.Duration

// ParseDuration parses a Go duration string that is not negative.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	d, err := time.ParseDuration(t)
	if err != nil {
		if t != "" && strings.Trim(t, "0123456789.") == "" && t != "0" {
			return 0, fmt.Errorf("duration %q needs a unit, e.g. \"%ss\" or \"%sms\"", s, t, t)
		}
		return 0, fmt.Errorf("%q is not a duration; write e.g. \"2s\" or \"500ms\"", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	return Duration(d), nil
}

// String is time.Duration's form, e.g. "2s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the String form, which ParseDuration reads back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses text with ParseDuration.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := ParseDuration(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
