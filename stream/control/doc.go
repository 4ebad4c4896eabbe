// Package control is camd's control protocol: small JSON messages on two
// WebRTC DataChannels between the page and camd, through which one viewer
// at a time (the lease holder) flies the drone and drives the serial
// bridge, while every viewer sees the telemetry, the failsafe events and
// what the serial port says.
//
// A Router knows the connected viewers (Attach, or AttachPeer for a pion
// PeerConnection), takes their messages (Handle), keeps the lease, calls
// the hardware behind the small interfaces Pilot and SerialPort, and
// broadcasts state (Run for the drone's telemetry and events, SerialData
// and SetSerialStatus for the bridge). Decode validates one message;
// anything it cannot act on becomes an "error" message back to the viewer,
// never a panic.
//
// The protocol, with an example of every message, the channels, the lease
// rules and the failsafes, is in docs/control.md; the page's side is
// stream/web/control.js.
package control
