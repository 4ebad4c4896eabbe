package stream

import (
	"bytes"
	"testing"
	"time"
)

func TestHubParamSetsFollowKeyframes(t *testing.T) {
	h := NewHub(HubOptions{})
	defer h.Close()
	if sps, pps := h.ParamSets(); sps != nil || pps != nil {
		t.Fatalf("before any keyframe: %x %x", sps, pps)
	}
	sps1, pps1 := []byte{0x67, 0x42, 0xc0, 0x1f, 1}, []byte{0x68, 0xce, 1}
	au := func(sps, pps []byte, slice byte) []byte {
		var b []byte
		for _, n := range [][]byte{sps, pps, {slice, 0x88, 0x84}} {
			if n != nil {
				b = append(append(b, 0, 0, 0, 1), n...)
			}
		}
		return b
	}
	h.Write(au(sps1, pps1, 0x65), true, time.Now(), 0)
	h.Write(au(nil, nil, 0x41), false, time.Now(), 1)
	if sps, pps := h.ParamSets(); !bytes.Equal(sps, sps1) || !bytes.Equal(pps, pps1) {
		t.Fatalf("ParamSets = %x %x, want %x %x", sps, pps, sps1, pps1)
	}
	// A new size: new parameter sets with the next keyframe.
	sps2 := []byte{0x67, 0x42, 0xc0, 0x28, 2}
	h.Write(au(sps2, pps1, 0x65), true, time.Now(), 2)
	if sps, _ := h.ParamSets(); !bytes.Equal(sps, sps2) {
		t.Fatalf("ParamSets after a change = %x, want %x", sps, sps2)
	}
}
