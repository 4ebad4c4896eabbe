package control

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/camd-project/camd/hw/tello"
)

// The message types camd sends.
const (
	TypeWelcome      = "welcome"
	TypePong         = "pong"
	TypeLeaseState   = "lease.state"
	TypeTelemetry    = "telemetry"
	TypeEvent        = "event"
	TypeSerialData   = "serial.data"
	TypeSerialStatus = "serial.status"
	TypeError        = "error"
)

// ms is a time as milliseconds since the Unix epoch, with microseconds, as
// JavaScript's Date.now() counts.
func ms(t time.Time) float64 { return float64(t.UnixMicro()) / 1000 }

// encode marshals a message: "v" and "type", then the fields of body (a
// struct or a map, nil for none).
func encode(typ string, body any) []byte {
	t, _ := json.Marshal(typ)
	out := fmt.Appendf(nil, `{"v":%d,"type":%s`, Version, t)
	if body != nil {
		b, err := json.Marshal(body)
		if err == nil && len(b) > 2 && b[0] == '{' {
			out = append(append(out, ','), b[1:len(b)-1]...)
		}
	}
	return append(out, '}')
}

type welcomeMsg struct {
	Viewer   string       `json:"viewer"`
	Control  bool         `json:"control"`
	Hardware hardwareDesc `json:"hardware"`
	Lease    leaseDesc    `json:"lease"`
	Stick    stickDesc    `json:"stick"`
	Max      int          `json:"max_message"`
	Time     float64      `json:"time"`
}

type hardwareDesc struct {
	Drone  *droneDesc  `json:"drone"`
	Serial *serialDesc `json:"serial"`
}

type droneDesc struct {
	Model string `json:"model"`
}

type serialDesc struct {
	Port      string        `json:"port"`
	Connected bool          `json:"connected"`
	Commands  []commandDesc `json:"commands"`
}

type commandDesc struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	N     bool   `json:"n"`
	Min   *int64 `json:"min,omitempty"`
	Max   *int64 `json:"max,omitempty"`
}

type leaseDesc struct {
	IdleMS int64 `json:"idle_ms"`
}

type stickDesc struct {
	HZ int `json:"hz"`
}

type leaseMsg struct {
	Holder *string  `json:"holder"`
	Name   string   `json:"name,omitempty"`
	You    bool     `json:"you"`
	Since  *float64 `json:"since,omitempty"`
}

type eventMsg struct {
	Kind    string  `json:"kind"`
	T       float64 `json:"t"`
	Battery int     `json:"battery,omitempty"`
	Command string  `json:"command,omitempty"`
	Error   string  `json:"error,omitempty"`
}

func eventMessage(ev tello.Event) []byte {
	m := eventMsg{Kind: ev.Kind.String(), T: ms(ev.At), Battery: ev.Battery, Command: ev.Command}
	if ev.Err != nil {
		m.Error = ev.Err.Error()
	}
	return encode(TypeEvent, m)
}

// telemetryMessage gives the fields the drone reported, by their SDK names,
// with the Pilot's phase, the Wi-Fi SNR when known (-1 otherwise) and the
// report's age.
func telemetryMessage(st tello.State, phase tello.Phase, wifi int, now time.Time) []byte {
	m := map[string]any{"phase": phase.String(), "wifi": wifi}
	if !st.Received.IsZero() {
		m["age_ms"] = now.Sub(st.Received).Milliseconds()
	}
	for _, f := range []struct {
		key string
		bit tello.Fields
		v   any
	}{
		{"bat", tello.FieldBattery, st.Battery}, {"h", tello.FieldHeight, st.Height},
		{"tof", tello.FieldTOF, st.TOF}, {"pitch", tello.FieldPitch, st.Pitch},
		{"roll", tello.FieldRoll, st.Roll}, {"yaw", tello.FieldYaw, st.Yaw},
		{"vgx", tello.FieldVGX, st.VGX}, {"vgy", tello.FieldVGY, st.VGY}, {"vgz", tello.FieldVGZ, st.VGZ},
		{"templ", tello.FieldTempLow, st.TempLow}, {"temph", tello.FieldTempHigh, st.TempHigh},
		{"baro", tello.FieldBaro, st.Baro}, {"time", tello.FieldMotorTime, st.MotorTime},
	} {
		if st.Has(f.bit) {
			m[f.key] = f.v
		}
	}
	m["t"] = ms(now)
	return encode(TypeTelemetry, m)
}

type serialDataMsg struct {
	Text *string `json:"text,omitempty"`
	Data []byte  `json:"data,omitempty"` // base64 by encoding/json
	T    float64 `json:"t"`
}

// serialDataMessage carries the bytes as "text" when they are UTF-8, else
// as base64 "data".
func serialDataMessage(p []byte, now time.Time) []byte {
	m := serialDataMsg{T: ms(now)}
	if utf8.Valid(p) {
		s := string(p)
		m.Text = &s
	} else {
		m.Data = p
	}
	return encode(TypeSerialData, m)
}

type serialStatusMsg struct {
	Port      string `json:"port"`
	Connected bool   `json:"connected"`
	Error     string `json:"error,omitempty"`
}

type pongMsg struct {
	T    float64 `json:"t"`
	Time float64 `json:"time"`
}

type errorMsg struct {
	Code Code   `json:"code"`
	Msg  string `json:"msg"`
	Re   string `json:"re,omitempty"`
	ID   *int64 `json:"id,omitempty"`
}

func errorMessage(e *Error) []byte {
	return encode(TypeError, errorMsg{Code: e.Code, Msg: e.Msg, Re: e.Type, ID: e.ID})
}
