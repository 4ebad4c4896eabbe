package config

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// TOML returns the configuration as a TOML document with every key, in the
// form Load reads back: the effective settings after all layers.
func (c *Config) TOML() []byte {
	var b strings.Builder
	section := ""
	for _, f := range fields {
		sec, key, ok := strings.Cut(f.key, ".")
		if !ok {
			sec, key = "", f.key
		}
		if sec != section {
			b.WriteString("\n[" + sec + "]\n")
			section = sec
		}
		b.WriteString(key + " = " + tomlValue(f.ptr(c)) + "\n")
	}
	return []byte(b.String())
}

// tomlValue writes the value at ptr as a TOML literal.
func tomlValue(ptr any) string {
	switch p := ptr.(type) {
	case *string:
		return tomlString(*p)
	case *int:
		return strconv.Itoa(*p)
	case *float64:
		return tomlFloat(*p)
	case *bool:
		return strconv.FormatBool(*p)
	case *Bitrate:
		return tomlString(p.String())
	case *Duration:
		return tomlString(p.String())
	case *[]string:
		items := make([]string, len(*p))
		for i, s := range *p {
			items[i] = tomlString(s)
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return `""`
}

func tomlFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// tomlString quotes s as a TOML basic string. Invalid UTF-8, which TOML
// cannot hold, becomes U+FFFD.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			b.WriteString(`\uFFFD`)
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u00` + strconv.FormatUint(uint64(r)>>4, 16) + strconv.FormatUint(uint64(r)&0xf, 16))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
