package control

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestDecodeAccepts(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"v":1,"type":"hello"}`, `hello name=""`},
		{`{"v":1,"type":"hello","name":" Bob's phone ","id":0}`, `hello name="Bob's phone" id=0`},
		{`{"type":"ping","v":1.0,"t":1712345678901.25}`, `ping t=1712345678901.25`},
		{`{"v":1,"type":"lease.request","id":9007199254740992}`, `lease.request id=9007199254740992`},
		{`{"v":1,"type":"stick","roll":-100,"pitch":100,"throttle":0,"yaw":-0,"seq":42}`, `stick {-100 100 0 0} seq=42`},
		{`{"v":1,"type":"stick","roll":1e1,"pitch":0,"throttle":0,"yaw":0}`, `stick {10 0 0 0}`},
		{`{"v":1,"type":"drone.emergency"}`, `drone.emergency`},
		{`{"v":1,"type":"serial.send","text":"P10\n"}`, `serial.send "P10\n"`},
		{`{"v":1,"type":"serial.send","data":"AAEC/w=="}`, `serial.send "\x00\x01\x02\xff"`},
		{`{"v":1,"type":"serial.cmd","name":"pan","n":-90}`, `serial.cmd name="pan" n=-90`},
	} {
		req, err := Decode([]byte(tc.in))
		if err != nil {
			t.Errorf("Decode(%s): %v", tc.in, err)
			continue
		}
		if got := describe(req); got != tc.want {
			t.Errorf("Decode(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func describe(r Request) string {
	s := r.Type
	switch r.Type {
	case TypeHello:
		s += fmt.Sprintf(" name=%q", r.Name)
	case TypePing:
		s += fmt.Sprintf(" t=%.2f", r.T)
	case TypeStick:
		s += fmt.Sprintf(" %v", r.Stick)
		if r.Seq != nil {
			s += fmt.Sprintf(" seq=%d", *r.Seq)
		}
	case TypeSerialSend:
		s += fmt.Sprintf(" %q", r.Data)
	case TypeSerialCmd:
		s += fmt.Sprintf(" name=%q", r.Name)
		if r.N != nil {
			s += fmt.Sprintf(" n=%d", *r.N)
		}
	}
	if r.ID != nil {
		s += fmt.Sprintf(" id=%d", *r.ID)
	}
	return s
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct{ in, code, msg string }{
		{``, "bad-json", "want a JSON object"},
		{`null`, "bad-json", "want a JSON object"},
		{`[1]`, "bad-json", "want a JSON object"},
		{`{"v":1,"type":"hello"`, "bad-json", "want a JSON object"},
		{`{"v":1}`, "bad-field", `"type" must be a non-empty string`},
		{`{"v":1,"type":7}`, "bad-field", `"type" must be a non-empty string`},
		{`{"type":"hello"}`, "version", `"v" must be 1`},
		{`{"v":"1","type":"hello"}`, "version", `"v" must be 1`},
		{`{"v":2,"type":"hello"}`, "version", "version 2, camd speaks 1"},
		{`{"v":1,"type":"fly"}`, "unknown-type", `unknown type "fly"`},
		{`{"v":1,"type":"hello","id":-1}`, "bad-field", `"id" must be an integer 0..2^53`},
		{`{"v":1,"type":"hello","id":1.5}`, "bad-field", `"id" must be an integer 0..2^53`},
		{`{"v":1,"type":"hello","nme":"x"}`, "bad-field", `unknown field "nme"`},
		{`{"v":1,"type":"hello","name":null}`, "bad-field", `"name" must be a string`},
		{`{"v":1,"type":"hello","name":"a\u0007b"}`, "bad-field", `"name" must be at most 40 printable characters`},
		{`{"v":1,"type":"hello","name":"` + strings.Repeat("é", 41) + `"}`, "bad-field", `"name" must be at most 40 printable characters`},
		{`{"v":1,"type":"ping"}`, "bad-field", `missing "t"`},
		{`{"v":1,"type":"ping","t":"now"}`, "bad-field", `"t" must be a number`},
		{`{"v":1,"type":"stick","roll":0,"pitch":0,"throttle":0}`, "bad-field", `missing "yaw"`},
		{`{"v":1,"type":"stick","roll":0,"pitch":0,"thottle":0,"yaw":0}`, "bad-field", `unknown field "thottle"`},
		{`{"v":1,"type":"stick","roll":101,"pitch":0,"throttle":0,"yaw":0}`, "bad-field", `"roll" must be an integer -100..100`},
		{`{"v":1,"type":"stick","roll":0.5,"pitch":0,"throttle":0,"yaw":0}`, "bad-field", `"roll" must be an integer -100..100`},
		{`{"v":1,"type":"stick","roll":null,"pitch":0,"throttle":0,"yaw":0}`, "bad-field", `"roll" must be an integer -100..100`},
		{`{"v":1,"type":"stick","roll":0,"pitch":0,"throttle":0,"yaw":0,"seq":-1}`, "bad-field", `"seq" must be an integer 0..2^53`},
		{`{"v":1,"type":"serial.send"}`, "bad-field", `want exactly one of "text" and "data"`},
		{`{"v":1,"type":"serial.send","text":"a","data":"YQ=="}`, "bad-field", `want exactly one of "text" and "data"`},
		{`{"v":1,"type":"serial.send","text":""}`, "bad-field", `"text" must not be empty`},
		{`{"v":1,"type":"serial.send","data":"!!"}`, "bad-field", `"data" must be non-empty standard base64`},
		{`{"v":1,"type":"serial.send","data":""}`, "bad-field", `"data" must be non-empty standard base64`},
		{`{"v":1,"type":"serial.cmd"}`, "bad-field", `missing "name"`},
		{`{"v":1,"type":"serial.cmd","name":""}`, "bad-field", `"name" must be 1..64 bytes`},
		{`{"v":1,"type":"serial.cmd","name":"pan","n":1e10}`, "bad-field", `"n" must be an integer -1e9..1e9`},
		{`{"v":1,"type":"lease.request","extra":{}}`, "bad-field", `unknown field "extra"`},
		{`{"v":1,"type":"` + strings.Repeat("x", 100) + `"}`, "unknown-type", `unknown type "` + strings.Repeat("x", 32) + `…"`},
		{`{"v":1,"type":"serial.send","text":"` + strings.Repeat("x", MaxMessage) + `"}`, "too-big", "4134 bytes, at most 4096"},
	} {
		_, err := Decode([]byte(tc.in))
		if err == nil {
			t.Errorf("Decode(%.60s) succeeded", tc.in)
			continue
		}
		if string(err.Code) != tc.code || err.Msg != tc.msg {
			t.Errorf("Decode(%.60s) = %s %q, want %s %q", tc.in, err.Code, err.Msg, tc.code, tc.msg)
		}
	}
}

func TestEncodeIsFlatJSON(t *testing.T) {
	b := encode(TypeError, errorMsg{Code: CodeBadField, Msg: `a "quoted" <msg>`})
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if m["v"] != 1.0 || m["type"] != "error" || m["code"] != "bad-field" || m["msg"] != `a "quoted" <msg>` || len(m) != 4 {
		t.Fatalf("%s", b)
	}
	if b := encode(TypePong, nil); string(b) != `{"v":1,"type":"pong"}` {
		t.Fatalf("%s", b)
	}
	if b := encode(TypeLeaseState, leaseMsg{}); string(b) != `{"v":1,"type":"lease.state","holder":null,"you":false}` {
		t.Fatalf("%s", b)
	}
}

// FuzzDecode checks that Decode never panics, that it either gives a
// request or an error with a code, and that a request survives being
// encoded again.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"hello","name":"x"}`,
		`{"v":1,"type":"stick","roll":-100,"pitch":100,"throttle":0,"yaw":5,"seq":1}`,
		`{"v":1,"type":"serial.send","data":"AAEC/w=="}`,
		`{"v":1,"type":"serial.cmd","name":"pan","n":-90,"id":3}`,
		`{"v":1,"type":"ping","t":1e300}`,
		`{"v":1,"type":"lease.request","type":"hello"}`,
		`{"v":1e400}`, `{"v":1,"type":"\u0000"}`, `{}`, `[]`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := Decode(b)
		if err != nil {
			if err.Code == "" || err.Msg == "" || req.Type != "" {
				t.Fatalf("bad error %+v with request %+v", err, req)
			}
			errorMessage(err) // must encode
			return
		}
		if _, ok := schema[req.Type]; !ok {
			t.Fatalf("accepted type %q", req.Type)
		}
		for _, a := range []int{req.Stick.Roll, req.Stick.Pitch, req.Stick.Throttle, req.Stick.Yaw} {
			if a < -100 || a > 100 {
				t.Fatalf("axis %d accepted", a)
			}
		}
		if req.Type == TypeSerialSend && len(req.Data) == 0 {
			t.Fatal("empty serial.send accepted")
		}
	})
}
