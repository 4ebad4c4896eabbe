package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Bitrate is a rate in bits per second.
//
// It parses "2Mbps", "2.5 Mbit/s", "300kbps", "300k", "2M", "1G" and plain
// integers, which count bits per second. Prefixes are decimal (k = 1000) and
// M may be written in lower case; an upper-case B means bytes and is
// refused, since every rate in camd is in bits.
type Bitrate int

// MaxBitrate is the largest rate ParseBitrate accepts; it keeps a Bitrate
// within an int on 32-bit boards.
const MaxBitrate Bitrate = 2_000_000_000

// ParseBitrate parses a bitrate such as "2Mbps" or "300k".
func ParseBitrate(s string) (Bitrate, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	if num == "" {
		if strings.HasPrefix(t, "-") {
			return 0, fmt.Errorf("bitrate %q must not be negative", s)
		}
		return 0, fmt.Errorf("%q is not a bitrate; write e.g. \"2Mbps\", \"300kbps\" or bits per second", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a bitrate: bad number %q", s, num)
	}
	mult := 1.0
	if unit != "" {
		switch unit[0] {
		case 'k', 'K':
			mult, unit = 1e3, unit[1:]
		case 'M', 'm':
			mult, unit = 1e6, unit[1:]
		case 'G', 'g':
			mult, unit = 1e9, unit[1:]
		}
	}
	if strings.HasPrefix(unit, "B") {
		return 0, fmt.Errorf("bitrate %q is in bytes (B); write bits, e.g. \"2Mbps\"", s)
	}
	switch strings.ToLower(unit) {
	case "", "bps", "b/s", "bit", "bits", "bit/s", "bits/s":
	default:
		return 0, fmt.Errorf("bitrate %q has an unknown unit %q; use bps, kbps, Mbps or Gbps", s, unit)
	}
	bits := math.Round(v * mult)
	if bits > float64(MaxBitrate) {
		return 0, fmt.Errorf("bitrate %q is above the limit of %v", s, MaxBitrate)
	}
	return Bitrate(bits), nil
}

// String prints the rate compactly in the largest unit that keeps it exact:
// "2Mbps", "2.5Mbps", "150kbps", "999bps".
func (b Bitrate) String() string {
	if b < 0 {
		return strconv.Itoa(int(b)) + "bps"
	}
	units := []struct {
		size Bitrate
		name string
	}{{1_000_000_000, "Gbps"}, {1_000_000, "Mbps"}, {1_000, "kbps"}}
	for _, u := range units {
		// Up to three decimals, so that the value stays exact.
		if b < u.size || b%(u.size/1000) != 0 {
			continue
		}
		s := strconv.Itoa(int(b / u.size))
		if frac := b % u.size; frac != 0 {
			f := fmt.Sprintf("%03d", int(frac/(u.size/1000)))
			s += "." + strings.TrimRight(f, "0")
		}
		return s + u.name
	}
	return strconv.Itoa(int(b)) + "bps"
}

// MarshalText writes the String form, which ParseBitrate reads back.
func (b Bitrate) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText parses text with ParseBitrate.
func (b *Bitrate) UnmarshalText(text []byte) error {
	v, err := ParseBitrate(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}
