package h264

import "bytes"

// ParamCache remembers the latest SPS and PPS of a stream and puts them in
// front of IDR access units that come without them, so that a decoder can
// start at any keyframe. Streams from cameras and files often carry the
// parameter sets only once, at the start.
//
// The zero value is ready to use. A ParamCache is not safe for concurrent
// use.
type ParamCache struct {
	sps, pps []byte
}

// SPS returns the cached sequence parameter set NAL unit (without start
// code), or nil.
func (c *ParamCache) SPS() []byte { return c.sps }

// PPS returns the cached picture parameter set NAL unit, or nil.
func (c *ParamCache) PPS() []byte { return c.pps }

// Ready reports whether both an SPS and a PPS have been seen.
func (c *ParamCache) Ready() bool { return c.sps != nil && c.pps != nil }

// Apply updates the cache from the parameter sets in the access unit au
// (Annex-B) and returns au, or, if au is an IDR missing its SPS or PPS and
// the cache has them, a new slice with the missing ones inserted after any
// access unit delimiter and before everything else. Apply never modifies
// au.
func (c *ParamCache) Apply(au []byte) []byte {
	var hasSPS, hasPPS, idr bool
	for rest := au; ; {
		var nal []byte
		nal, rest = NextNAL(rest)
		if nal == nil {
			break
		}
		switch TypeOf(nal) {
		case TypeSPS:
			hasSPS = true
			if !bytes.Equal(c.sps, nal) {
				c.sps = bytes.Clone(nal)
			}
		case TypePPS:
			hasPPS = true
			if !bytes.Equal(c.pps, nal) {
				c.pps = bytes.Clone(nal)
			}
		case TypeIDR:
			idr = true
		}
	}
	if !idr || (hasSPS || c.sps == nil) && (hasPPS || c.pps == nil) {
		return au
	}
	// Keep a leading AUD first, as section 7.4.1.2.3 requires.
	head := 0
	if nal, rest := NextNAL(au); TypeOf(nal) == TypeAUD {
		head = len(au) - len(rest)
		for head > 0 && au[head-1] == 0 {
			head--
		}
	}
	out := make([]byte, 0, len(au)+len(c.sps)+len(c.pps)+8)
	out = append(out, au[:head]...)
	if !hasSPS && c.sps != nil {
		out = append(append(out, 0, 0, 0, 1), c.sps...)
	}
	if !hasPPS && c.pps != nil {
		out = append(append(out, 0, 0, 0, 1), c.pps...)
	}
	return append(out, au[head:]...)
}
