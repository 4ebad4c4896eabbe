package serial

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func split(max int, inv Invalid, chunks ...string) []string {
	var out []string
	s := newLineSplitter(max, inv, func(b []byte) { out = append(out, string(b)) })
	for _, c := range chunks {
		s.feed([]byte(c))
	}
	s.flush()
	return out
}

func TestLineSplitter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		max    int
		inv    Invalid
		chunks []string
		want   []string
	}{
		{"lines", 16, InvalidPass, []string{"a\nbb\r\nccc\n"}, []string{"a", "bb", "ccc"}},
		{"split reads", 16, InvalidPass, []string{"he", "llo\r", "\nwor", "ld"}, []string{"hello", "world"}},
		{"empty lines", 16, InvalidPass, []string{"\n\r\n\n"}, nil},
		{"long", 16, InvalidPass, []string{strings.Repeat("a", 40) + "\n"}, []string{strings.Repeat("a", 16), strings.Repeat("a", 16), strings.Repeat("a", 8)}},
		// A euro sign (3 bytes) across the 16-byte boundary stays whole.
		{"long utf8", 16, InvalidDrop, []string{strings.Repeat("a", 14) + "€b\n"}, []string{strings.Repeat("a", 14), "€b"}},
		{"cr alone", 16, InvalidPass, []string{"a\rb\n"}, []string{"a\rb"}},
		{"pass", 16, InvalidPass, []string{"\xff\n"}, []string{"\xff"}},
		{"replace", 16, InvalidReplace, []string{"a\xff\xffb\n"}, []string{"a\uFFFDb"}},
		{"drop", 16, InvalidDrop, []string{"a\xffb\nok\n"}, []string{"ok"}},
	} {
		got := split(tc.max, tc.inv, tc.chunks...)
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseInvalidAndParity(t *testing.T) {
	for _, s := range []string{"", "pass", "replace", "drop"} {
		v, err := ParseInvalid(s)
		if err != nil || (s != "" && v.String() != s) {
			t.Errorf("ParseInvalid(%q) = %v, %v", s, v, err)
		}
	}
	if _, err := ParseInvalid("keep"); err == nil {
		t.Error("ParseInvalid(keep) succeeded")
	}
	for _, s := range []string{"none", "odd", "even", "mark", "space"} {
		p, err := ParseParity(strings.ToUpper(s))
		if err != nil || p.String() != s {
			t.Errorf("ParseParity(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParseParity("1"); err == nil {
		t.Error("ParseParity(1) succeeded")
	}
}

// FuzzLineSplitter checks that lines do not depend on how the bytes were
// cut into reads, stay within the maximum, never hold a newline, and that
// without '\r' and invalid UTF-8 nothing but the newlines is lost.
func FuzzLineSplitter(f *testing.F) {
	f.Add([]byte("hello\r\nworld\n"), uint8(3), uint8(0))
	f.Add([]byte("\xff\xfe\n€€€€€€€€€€€€\n"), uint8(5), uint8(1))
	f.Add([]byte(strings.Repeat("é", 30)), uint8(7), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, cut, mode uint8) {
		inv := Invalid(mode % 3)
		const max = 16
		whole := split(max, inv, string(in))
		c := int(cut) % (len(in) + 1)
		parts := split(max, inv, string(in[:c]), string(in[c:]))
		var bytewise []string
		s := newLineSplitter(max, inv, func(b []byte) { bytewise = append(bytewise, string(b)) })
		for i := range in {
			s.feed(in[i : i+1])
		}
		s.flush()
		if fmt.Sprintf("%q", whole) != fmt.Sprintf("%q", parts) || fmt.Sprintf("%q", whole) != fmt.Sprintf("%q", bytewise) {
			t.Fatalf("lines depend on the reads:\nwhole %q\ncut at %d %q\nbytewise %q", whole, c, parts, bytewise)
		}
		for _, l := range whole {
			if len(l) == 0 || strings.Contains(l, "\n") || (inv == InvalidPass && len(l) > max) {
				t.Fatalf("bad line %q", l)
			}
			if inv != InvalidPass && !utf8.ValidString(l) {
				t.Fatalf("invalid UTF-8 line %q with %v", l, inv)
			}
		}
		if inv == InvalidPass && !bytes.ContainsRune(in, '\r') {
			if got, want := strings.Join(whole, ""), strings.ReplaceAll(string(in), "\n", ""); got != want {
				t.Fatalf("bytes lost: %q from %q", got, in)
			}
		}
	})
}
