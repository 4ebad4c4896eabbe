// Package tello is camd's client for the DJI Tello drone (Tello SDK 2.0)
// and the failsafes that keep a drone steered from a browser safe.
//
// A Drone speaks the SDK: ASCII commands over UDP to 192.168.10.1:8889 with
// the replies on the same socket, one command in flight at a time; "rc"
// stick commands without a reply; telemetry on local UDP port 8890 as
// "key:value;" pairs (ParseState); and the camera's raw H.264 Annex-B on
// local UDP port 11111, handed on datagram by datagram. The network is
// injected through Options.ListenPacket, so tests run against the simulator
// in package tellosim on loopback.
//
// A Pilot sits between a controller (the page's sticks and buttons) and the
// Drone: it repeats the sticks as "rc" at 20 Hz, hovers when the sticks go
// quiet, lands when the controller is gone for too long, when the battery is
// critical or when camd shuts down, and reports what it did as Events.
//
// SDK reference: "Tello SDK 2.0 User Guide" (DJI, 2018). Behaviour not in
// the guide (error texts, rc getting no reply) is as reported for firmware
// 01.04 as of 2025.
package tello
