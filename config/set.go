package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Set sets one dotted key ("listen", "source.kind", "encoder.bitrate") from
// its text form, as given on the command line: the same typed rules as the
// file apply, and a list takes comma-separated items. The value is not
// range-checked until Validate. Problems are returned as Errors with Source
// "flag".
func (c *Config) Set(key, value string) error {
	return c.set(key, value, origin{source: "flag"})
}

func (c *Config) set(key, value string, o origin) error {
	f, ok := lookupField(key)
	if !ok {
		return Errors{{Key: key, Source: o.source, Msg: "unknown key" + suggest(key)}}
	}
	if err := setText(f.ptr(c), value); err != nil {
		return Errors{{Key: key, Source: o.source, Msg: err.Error(), Err: err}}
	}
	c.note(key, o)
	return nil
}

// setText parses s into the value at ptr.
func setText(ptr any, s string) error {
	switch p := ptr.(type) {
	case *string:
		*p = s
	case *int:
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, strconv.IntSize)
		if err != nil {
			return fmt.Errorf("must be an integer, got %q", s)
		}
		*p = int(v)
	case *float64:
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("must be a number, got %q", s)
		}
		*p = v
	case *bool:
		v, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("must be true or false, got %q", s)
		}
		*p = v
	case *Bitrate:
		return p.UnmarshalText([]byte(s))
	case *Duration:
		return p.UnmarshalText([]byte(s))
	case *[]string:
		list := []string{}
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		*p = list
	default:
		return fmt.Errorf("setText: unsupported type %T", ptr)
	}
	return nil
}

// setValue stores a decoded TOML value (string, int64, float64, bool,
// time.Time, []any or map[string]any) into the value at ptr, checking its
// type.
func setValue(ptr any, v any) error {
	switch p := ptr.(type) {
	case *string:
		s, ok := v.(string)
		if !ok {
			return wrongType("a string", v)
		}
		*p = s
	case *int:
		n, ok := v.(int64)
		if !ok {
			return wrongType("an integer", v)
		}
		if n < math.MinInt || n > math.MaxInt {
			return fmt.Errorf("%d is too large", n)
		}
		*p = int(n)
	case *float64:
		switch n := v.(type) {
		case int64:
			*p = float64(n)
		case float64:
			if math.IsNaN(n) || math.IsInf(n, 0) {
				return fmt.Errorf("must be a finite number, got %v", n)
			}
			*p = n
		default:
			return wrongType("a number", v)
		}
	case *bool:
		b, ok := v.(bool)
		if !ok {
			return wrongType("true or false", v)
		}
		*p = b
	case *Bitrate:
		switch n := v.(type) {
		case string:
			return p.UnmarshalText([]byte(n))
		case int64:
			if n < 0 || n > int64(MaxBitrate) {
				return fmt.Errorf("bitrate %d must be between 0 and %d bits/s", n, int64(MaxBitrate))
			}
			*p = Bitrate(n)
		default:
			return wrongType("a bitrate such as \"2Mbps\"", v)
		}
	case *Duration:
		s, ok := v.(string)
		if !ok {
			return wrongType("a duration string such as \"2s\"", v)
		}
		return p.UnmarshalText([]byte(s))
	case *[]string:
		items, ok := v.([]any)
		if !ok {
			return wrongType("an array of strings", v)
		}
		list := make([]string, 0, len(items))
		for i, item := range items {
			s, ok := item.(string)
			if !ok {
				return fmt.Errorf("item %d: %w", i, wrongType("a string", item))
			}
			list = append(list, s)
		}
		*p = list
	default:
		return fmt.Errorf("setValue: unsupported type %T", ptr)
	}
	return nil
}

var errWrongType = errors.New("wrong type")

func wrongType(want string, v any) error {
	return fmt.Errorf("%w: must be %s, got %s", errWrongType, want, describe(v))
}

// describe names a TOML value's type, with the value when it is short.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("string %q", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case time.Time:
		return "datetime " + x.String()
	case []any, []map[string]any:
		return "array"
	case map[string]any:
		return "table"
	}
	return fmt.Sprintf("%T", v)
}

// suggest returns a hint naming the known key that key was probably meant
// to be: the same name in another section, or a close spelling.
func suggest(key string) string {
	last := key[strings.LastIndexByte(key, '.')+1:]
	for _, f := range fields {
		if f.key[strings.LastIndexByte(f.key, '.')+1:] == last {
			return fmt.Sprintf(" (did you mean %q?)", f.key)
		}
	}
	best, dist := "", 3
	for _, f := range fields {
		if d := editDistance(key, f.key); d < dist {
			best, dist = f.key, d
		}
		if sec, _, ok := strings.Cut(f.key, "."); ok {
			if d := editDistance(key, sec); d < dist {
				best, dist = sec, d
			}
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
