package config

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// EnvAllowList names CAMD_ variables that are not settings and that Load
// must not reject as unknown. An entry ending in "*" matches every name
// with that prefix. CAMD_CHROMIUM points browser tests at a Chromium
// binary; CAMD_TEST_* is left to test harnesses. Programs that read other
// CAMD_ variables of their own append them before calling Load.
var EnvAllowList = []string{"CAMD_CHROMIUM", "CAMD_TEST_*"}

// Load builds a Config from the defaults, then the TOML file at path (none
// when path is ""), then the CAMD_* variables in env (in os.Environ form,
// later entries winning). It does not validate, so that flags can be
// applied with Set first; call Validate, or use Check. A missing file,
// syntax errors, unknown keys, values of the wrong type and unknown CAMD_
// variables are all errors; every one found is returned in an Errors.
func Load(path string, env []string) (*Config, error) {
	c := Default()
	var errs Errors
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, Errors{readError(path, err)}
		}
		errs = append(errs, c.decode(data, path)...)
	}
	errs = append(errs, c.applyEnv(env)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// Check is Load followed by Validate.
func Check(path string, env []string) (*Config, error) {
	c, err := Load(path, env)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func readError(path string, err error) *Error {
	msg := "os.ReadFile: " + err.Error()
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		msg = "config file not found"
	case errors.As(err, &pe):
		msg = "cannot read config file: " + pe.Err.Error()
	}
	return &Error{Source: path, Msg: msg, Err: err}
}

// decoder walks the keys of one parsed file.
type decoder struct {
	c        *Config
	source   string
	md       toml.MetaData
	top      map[string]toml.Primitive
	sections map[string]map[string]toml.Primitive
	done     map[string]bool // key paths handled, with everything below them
	errs     Errors
}

// decode applies a TOML document to c. source names it in errors.
func (c *Config) decode(data []byte, source string) Errors {
	d := &decoder{c: c, source: source, sections: map[string]map[string]toml.Primitive{}, done: map[string]bool{}}
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&d.top)
	if err != nil {
		e := &Error{Source: source, Msg: err.Error(), Err: err}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			e.Line, e.Col, e.Msg = pe.Position.Line, pe.Position.Col, pe.Message
		}
		return Errors{e}
	}
	d.md = md
	for _, k := range md.Keys() {
		d.key(k)
	}
	return d.errs
}

// key handles one key of the file, in the order they appear.
func (d *decoder) key(k toml.Key) {
	if d.covered(k) {
		return
	}
	head := k[0]
	if i := slices.IndexFunc(k, func(p string) bool { return strings.Contains(p, ".") }); i >= 0 {
		d.fail(k, k[:i+1], "unknown key (the quotes make the dot part of one name; write "+strings.Join(k, ".")+" without quotes)")
		return
	}
	if f, ok := lookupPart(head); ok {
		// A top-level setting; deeper keys mean it was written as a table.
		d.setField(f, k[:1], d.top[head])
		return
	}
	if !isSection(head) {
		d.fail(k, k[:1], "unknown key"+suggest(k.String()))
		return
	}
	sec, ok := d.section(head)
	if !ok || len(k) == 1 {
		return
	}
	if f, ok := lookupPart(head, k[1]); ok {
		d.setField(f, k[:2], sec[k[1]])
		return
	}
	d.fail(k, k[:2], "unknown key"+suggest(k.String()))
}

// section returns the keys of [name], reporting it once if it is not a
// table.
func (d *decoder) section(name string) (map[string]toml.Primitive, bool) {
	if sec, ok := d.sections[name]; ok {
		return sec, true
	}
	var kind kindProbe
	_ = d.md.PrimitiveDecode(d.top[name], &kind)
	var sec map[string]toml.Primitive
	if _, isTable := kind.data.(map[string]any); !isTable || d.md.PrimitiveDecode(d.top[name], &sec) != nil {
		d.fail(toml.Key{name}, toml.Key{name}, "must be a table, got "+describe(kind.data)+"; write ["+name+"] above its keys")
		return nil, false
	}
	d.sections[name] = sec
	return sec, true
}

// setField decodes prim into f and records where the value came from;
// path is the key that holds the value.
func (d *decoder) setField(f field, path toml.Key, prim toml.Primitive) {
	d.done[pathID(path)] = true
	line := d.line(path)
	s := &valueSetter{ptr: f.ptr(d.c)}
	_ = d.md.PrimitiveDecode(prim, s)
	if s.err != nil {
		d.errs = append(d.errs, &Error{Key: f.key, Source: d.source, Line: line, Msg: s.err.Error(), Err: s.err})
		return
	}
	d.c.note(f.key, origin{source: d.source, line: line})
}

// fail reports k and skips everything under prefix.
func (d *decoder) fail(k, prefix toml.Key, msg string) {
	d.done[pathID(prefix)] = true
	d.errs = append(d.errs, &Error{Key: k.String(), Source: d.source, Line: d.line(k), Msg: msg})
}

func (d *decoder) covered(k toml.Key) bool {
	for i := 1; i <= len(k); i++ {
		if d.done[pathID(k[:i])] {
			return true
		}
	}
	return false
}

// line finds the line of key k. The TOML parser knows every key's position
// but only tells it inside a ParseError, so line decodes the key's value
// into a probe that always fails and reads the position from the error
// (BurntSushi/toml v1.6.0, checked 2025: MetaData has no position API; an
// Unmarshaler's error comes back as a ParseError at the key's position).
func (d *decoder) line(k toml.Key) int {
	prim, ok := d.top[k[0]]
	for _, part := range k[1:] {
		var m map[string]toml.Primitive
		if !ok || d.md.PrimitiveDecode(prim, &m) != nil {
			return 0
		}
		prim, ok = m[part]
	}
	if !ok {
		return 0
	}
	var pe toml.ParseError
	if errors.As(d.md.PrimitiveDecode(prim, &lineProbe{}), &pe) {
		return pe.Position.Line
	}
	return 0
}

func pathID(k toml.Key) string { return strings.Join(k, "\x00") }

// lookupPart finds the field for a key given as separate parts.
func lookupPart(parts ...string) (field, bool) {
	return lookupField(strings.Join(parts, "."))
}

// valueSetter receives a raw TOML value and stores it in a field.
type valueSetter struct {
	ptr any
	err error
}

func (s *valueSetter) UnmarshalTOML(v any) error {
	s.err = setValue(s.ptr, v)
	return s.err
}

// kindProbe captures a raw TOML value.
type kindProbe struct{ data any }

func (p *kindProbe) UnmarshalTOML(v any) error { p.data = v; return nil }

var errProbe = errors.New("position probe")

// lineProbe fails on purpose; see decoder.line.
type lineProbe struct{}

func (*lineProbe) UnmarshalTOML(any) error { return errProbe }

// applyEnv applies every CAMD_ variable in env.
func (c *Config) applyEnv(env []string) Errors {
	var errs Errors
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "CAMD_") || envAllowed(name) {
			continue
		}
		src := origin{source: "env " + name}
		key, ok := envKey(name)
		if !ok {
			errs = append(errs, &Error{Source: src.source, Msg: "unknown variable" + suggestEnv(name)})
			continue
		}
		if err := c.set(key, value, src); err != nil {
			var es Errors
			if errors.As(err, &es) {
				errs = append(errs, es...)
			}
		}
	}
	return errs
}

func envAllowed(name string) bool {
	for _, a := range EnvAllowList {
		if a == name || strings.HasSuffix(a, "*") && strings.HasPrefix(name, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	return false
}

func envKey(name string) (string, bool) {
	for _, f := range fields {
		if EnvName(f.key) == name {
			return f.key, true
		}
	}
	return "", false
}

func suggestEnv(name string) string {
	best, dist := "", 4
	for _, f := range fields {
		if d := editDistance(name, EnvName(f.key)); d < dist {
			best, dist = EnvName(f.key), d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}
