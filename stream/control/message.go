package control

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/camd-project/camd/hw/tello"
)

// Version is the protocol version camd speaks: every message carries
// "v": Version.
const Version = 1

// MaxMessage is the largest message camd accepts, in bytes.
const MaxMessage = 4096

// MaxName is the longest display name a hello may carry, in characters.
const MaxName = 40

// The message types a viewer sends.
const (
	TypeHello          = "hello"
	TypePing           = "ping"
	TypeLeaseRequest   = "lease.request"
	TypeLeaseRelease   = "lease.release"
	TypeStick          = "stick"
	TypeDroneTakeoff   = "drone.takeoff"
	TypeDroneLand      = "drone.land"
	TypeDroneEmergency = "drone.emergency"
	TypeSerialSend     = "serial.send"
	TypeSerialCmd      = "serial.cmd"
)

// Request is one decoded, validated message from a viewer. Only the fields
// of its Type are set.
type Request struct {
	Type string
	// ID is the viewer's optional "id", echoed in an error about this
	// message.
	ID *int64

	Name  string      // hello: display name; serial.cmd: command name
	Stick tello.Stick // stick
	Seq   *uint64     // stick: optional sequence number; older ones are dropped
	N     *int64      // serial.cmd: the number for the template's {n}
	Data  []byte      // serial.send: the bytes ("text" or base64 "data")
	T     float64     // ping: the viewer's clock, echoed in the pong
}

type fieldKind int

const (
	optString fieldKind = iota // string
	reqString
	reqAxis   // integer -100..100
	optUint   // integer 0..2^53
	optInt    // integer, |n| <= 1e9
	reqNumber // finite number
	optText   // non-empty string, for serial.send
	optBase64 // standard base64, non-empty once decoded
)

// schema lists each type's fields besides "v", "type" and "id".
var schema = map[string]map[string]fieldKind{
	TypeHello:          {"name": optString},
	TypePing:           {"t": reqNumber},
	TypeLeaseRequest:   {},
	TypeLeaseRelease:   {},
	TypeStick:          {"roll": reqAxis, "pitch": reqAxis, "throttle": reqAxis, "yaw": reqAxis, "seq": optUint},
	TypeDroneTakeoff:   {},
	TypeDroneLand:      {},
	TypeDroneEmergency: {},
	TypeSerialSend:     {"text": optText, "data": optBase64},
	TypeSerialCmd:      {"name": reqString, "n": optInt},
}

// Decode parses and validates one message. A message camd cannot act on
// gives an *Error to send back: more than MaxMessage bytes, not a JSON
// object, "v" other than Version, an unknown "type", or a field that is
// missing, unknown to the type (a misspelt axis must not fly as zero), of
// the wrong JSON type or out of range. Decode never panics.
func Decode(b []byte) (Request, *Error) {
	if len(b) > MaxMessage {
		return Request{}, errorf(CodeTooBig, "%d bytes, at most %d", len(b), MaxMessage)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return Request{}, errorf(CodeBadJSON, "want a JSON object")
	}
	var req Request
	var typ string
	if err := json.Unmarshal(raw["type"], &typ); err != nil || typ == "" {
		return req, errorf(CodeBadField, `"type" must be a non-empty string`)
	}
	e := func(code Code, format string, args ...any) (Request, *Error) {
		err := errorf(code, format, args...)
		err.Type, err.ID = typ, req.ID
		return Request{}, err
	}
	if id, ok := raw["id"]; ok {
		n, ok := integer(id, 0, 1<<53)
		if !ok {
			return e(CodeBadField, `"id" must be an integer 0..2^53`)
		}
		req.ID = &n
	}
	v, ok := integer(raw["v"], math.MinInt32, math.MaxInt32)
	if !ok {
		return e(CodeVersion, `"v" must be %d`, Version)
	}
	if v != Version {
		return e(CodeVersion, "version %d, camd speaks %d", v, Version)
	}
	fields, ok := schema[typ]
	if !ok {
		return e(CodeUnknownType, "unknown type %q", clip(typ))
	}
	req.Type = typ
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if _, ok := fields[k]; !ok && k != "v" && k != "type" && k != "id" {
			return e(CodeBadField, "unknown field %q", clip(k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		kind := fields[k]
		val, present := raw[k]
		if !present {
			if kind == reqString || kind == reqAxis || kind == reqNumber {
				return e(CodeBadField, "missing %q", k)
			}
			continue
		}
		if msg := req.set(k, kind, val); msg != "" {
			return e(CodeBadField, "%q %s", k, msg)
		}
	}
	if typ == TypeSerialSend {
		_, text := raw["text"]
		_, data := raw["data"]
		if text == data {
			return e(CodeBadField, `want exactly one of "text" and "data"`)
		}
	}
	return req, nil
}

// set stores one field; it returns what is wrong with it, or "".
func (r *Request) set(k string, kind fieldKind, val json.RawMessage) string {
	switch kind {
	case optString, reqString, optText:
		var s string
		if json.Unmarshal(val, &s) != nil || bytes.Equal(val, []byte("null")) {
			return "must be a string"
		}
		switch {
		case kind == optText:
			if s == "" {
				return "must not be empty"
			}
			r.Data = []byte(s)
		case k == "name" && r.Type == TypeHello:
			s = strings.TrimSpace(s)
			if utf8.RuneCountInString(s) > MaxName || strings.IndexFunc(s, unicode.IsControl) >= 0 {
				return "must be at most 40 printable characters"
			}
			r.Name = s
		default:
			if s == "" || len(s) > 64 {
				return "must be 1..64 bytes"
			}
			r.Name = s
		}
	case optBase64:
		var s string
		if json.Unmarshal(val, &s) != nil || bytes.Equal(val, []byte("null")) {
			return "must be a base64 string"
		}
		d, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(d) == 0 {
			return "must be non-empty standard base64"
		}
		r.Data = d
	case reqAxis:
		n, ok := integer(val, -100, 100)
		if !ok {
			return "must be an integer -100..100"
		}
		switch k {
		case "roll":
			r.Stick.Roll = int(n)
		case "pitch":
			r.Stick.Pitch = int(n)
		case "throttle":
			r.Stick.Throttle = int(n)
		case "yaw":
			r.Stick.Yaw = int(n)
		}
	case optUint:
		n, ok := integer(val, 0, 1<<53)
		if !ok {
			return "must be an integer 0..2^53"
		}
		u := uint64(n)
		r.Seq = &u
	case optInt:
		n, ok := integer(val, -1e9, 1e9)
		if !ok {
			return "must be an integer -1e9..1e9"
		}
		r.N = &n
	case reqNumber:
		var f float64
		if json.Unmarshal(val, &f) != nil || bytes.Equal(val, []byte("null")) {
			return "must be a number"
		}
		r.T = f
	}
	return ""
}

// integer reads a JSON number that is a whole number within lo..hi.
func integer(val json.RawMessage, lo, hi int64) (int64, bool) {
	var f float64
	if len(val) == 0 || bytes.Equal(val, []byte("null")) || json.Unmarshal(val, &f) != nil {
		return 0, false
	}
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, false
	}
	return int64(f), true
}

// clip shortens a viewer's string for an error message.
func clip(s string) string {
	if len(s) <= 32 {
		return s
	}
	return strings.ToValidUTF8(s[:32], "") + "…"
}
