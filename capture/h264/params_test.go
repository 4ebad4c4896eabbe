package h264

import (
	"bytes"
	"testing"
)

func TestParamCacheFixture(t *testing.T) {
	aus := SplitAccessUnits(readFixture(t))
	want := aus[30]
	// Strip the SPS and PPS the muxer put in front of the second IDR.
	nals := SplitNALs(want)
	bare := stream(nals[2:]...)
	if IsKeyframe(bare) != true || bytes.Contains(bare, nals[0]) {
		t.Fatal("test setup: stripping failed")
	}

	var c ParamCache
	if got := c.Apply(bare); !bytes.Equal(got, bare) {
		t.Error("Apply with an empty cache changed the access unit")
	}
	c.Apply(aus[0])
	if !c.Ready() || !bytes.Equal(c.SPS(), nals[0]) || !bytes.Equal(c.PPS(), nals[1]) {
		t.Fatalf("cache after the first IDR: SPS %x PPS %x", c.SPS(), c.PPS())
	}
	orig := bytes.Clone(bare)
	got := c.Apply(bare)
	if !bytes.Equal(bare, orig) {
		t.Error("Apply modified its input")
	}
	gotNALs := SplitNALs(got)
	if len(gotNALs) != len(nals) {
		t.Fatalf("fixed IDR has %v, want %v", nalTypes(got), nalTypes(want))
	}
	for i := range nals {
		if !bytes.Equal(gotNALs[i], nals[i]) {
			t.Errorf("NAL %d = %x, want %x", i, gotNALs[i], nals[i])
		}
	}
	if p := aus[1]; &c.Apply(p)[0] != &p[0] {
		t.Error("Apply copied a P frame")
	}
	if a := aus[30]; &c.Apply(a)[0] != &a[0] {
		t.Error("Apply copied an IDR that has its parameter sets")
	}
}

func TestParamCacheKeepsAUDFirst(t *testing.T) {
	var c ParamCache
	c.Apply(stream(aud, sps, pps, idr0))
	newPPS := []byte{0x68, 0xee, 0x3c, 0x80}
	got := c.Apply(stream(aud, newPPS, idr0))
	if want := stream(aud, sps, newPPS, idr0); !equalTypes([][]NALType{nalTypes(got)}, [][]NALType{nalTypes(want)}) {
		t.Errorf("got %v, want %v", nalTypes(got), nalTypes(want))
	}
	if n := SplitNALs(got); !bytes.Equal(n[1], sps) || !bytes.Equal(n[2], newPPS) {
		t.Errorf("got %x: want the cached SPS and the new PPS", n)
	}
	if !bytes.HasPrefix(got, []byte{0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67}) {
		t.Errorf("got %x: zero bytes between AUD and SPS", got)
	}
	if !bytes.Equal(c.PPS(), newPPS) {
		t.Error("cache kept the old PPS")
	}
}
