package control

import (
	"errors"
	"fmt"
	"testing"
)

func TestSerialCommands(t *testing.T) {
	g := newRig(t, Options{})
	a := attach(t, g.r, "a", false)
	a.send(true, `{"v":1,"type":"lease.request"}`)
	a.next(TypeLeaseState)
	a.send(true, `{"v":1,"type":"serial.send","text":"hello\n"}`)
	a.send(true, `{"v":1,"type":"serial.send","data":"AP8K"}`)
	a.send(true, `{"v":1,"type":"serial.cmd","name":"pan","n":-45}`)
	a.send(true, `{"v":1,"type":"serial.cmd","name":"home"}`)
	if got := fmt.Sprintf("%q", g.serial.got()); got != `["hello\n" "\x00\xff\n" "P-45\n" "H\n"]` {
		t.Fatalf("port got %s", got)
	}
	a.none()
	for _, tc := range []struct{ msg, code string }{
		{`"name":"pan"`, "bad-field"},              // needs n
		{`"name":"pan","n":91`, "bad-field"},       // out of range
		{`"name":"pan","n":1.5`, "bad-field"},      // not an integer
		{`"name":"home","n":1`, "bad-field"},       // takes none
		{`"name":"tilt","n":1`, "unknown-command"}, // not configured
	} {
		a.send(true, `{"v":1,"type":"serial.cmd",%s}`, tc.msg)
		if e := a.next(TypeError); e.str("code") != tc.code {
			t.Errorf("serial.cmd %s: %v, want %s", tc.msg, e, tc.code)
		}
	}
	g.serial.err = errors.New("serial.Send: serial port disconnected")
	a.send(true, `{"v":1,"type":"serial.cmd","name":"home","id":3}`)
	if e := a.next(TypeError); e.str("code") != "failed" || e.num("id") != 3 || e.str("msg") != g.serial.err.Error() {
		t.Fatalf("got %v", e)
	}
	if len(g.serial.got()) != 4 {
		t.Fatal("a bad command reached the port")
	}

	// What the port says goes to everyone.
	b := attach(t, g.r, "b", false)
	g.r.SerialData([]byte("pos 10"))
	g.r.SerialData([]byte{0xff, 0x00})
	g.r.SerialData(nil)
	for _, v := range []*fakeViewer{a, b} {
		if m := v.next(TypeSerialData); m.str("text") != "pos 10" || m["data"] != nil || m.num("t") != 1.7e12 {
			t.Fatalf("%s got %v", v.id, m)
		}
		if m := v.next(TypeSerialData); m.str("data") != "/wA=" || m["text"] != nil {
			t.Fatalf("%s got %v", v.id, m)
		}
	}
	g.r.SetSerialStatus(SerialStatus{Connected: false, Err: errors.New("serial: read: Port has been closed")})
	if m := b.next(TypeSerialStatus); m.str("port") != "/dev/ttyUSB0" || m["connected"] != false || m.str("error") != "serial: read: Port has been closed" {
		t.Fatalf("got %v", m)
	}
	g.r.SetSerialStatus(SerialStatus{Connected: true, Port: "/dev/ttyUSB1"})
	if m := b.next(TypeSerialStatus); m.str("port") != "/dev/ttyUSB1" || m["connected"] != true || m["error"] != nil {
		t.Fatalf("got %v", m)
	}
}
