// Package encode turns frames into H.264 access units for the stream hub.
//
// Encoders: openh264 in software (cgo builds only), a passthrough for
// sources that already deliver H.264, and the V4L2 memory-to-memory hardware
// encoder as it lands. Every encoder produces constrained baseline with SPS
// and PPS in front of every IDR, changes its bitrate live and forces a
// keyframe on request. New picks one for a source; Pipeline connects a
// capture.Source to an Encoder, hands access units on and counts what it
// did.
package encode
