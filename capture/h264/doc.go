// Package h264 reads the parts of H.264 (ITU-T H.264, Annex B byte stream)
// that camd needs without decoding pictures: it splits a byte stream into
// NAL units and access units, tells keyframes apart, parses the sequence
// parameter set for the profile, level and picture size, and keeps SPS and
// PPS at hand so that every IDR can be sent with them in front.
//
// Nothing here decodes slices. The functions take untrusted input (files,
// UDP from a drone, a subprocess's stdout): malformed data yields an error
// or an empty result, never a panic.
package h264
