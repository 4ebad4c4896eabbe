package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/camd-project/camd/capture"
	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/encode"
	"github.com/camd-project/camd/hw/v4l2"
	"github.com/camd-project/camd/stream"
	"github.com/camd-project/camd/stream/whepclient"
)

// caseLoopbackH264 makes v4l2loopback an H.264 camera: camd's source
// passes the stream through the pipeline to a stream server on 127.0.0.1,
// and a WHEP client must receive access units that start with an IDR and
// are, NAL unit for NAL unit, what the camera sent.
func caseLoopbackH264(ctx context.Context, e *env) (string, error) {
	fd := h264Feeder()
	if err := fd.start(); err != nil {
		return "", err
	}
	defer fd.stop()
	src, err := capture.NewV4L2(capture.V4L2Options{Device: loopbackCard, Width: 320, Height: 240, FPS: 30, Open: e.open, Logger: e.log})
	if err != nil {
		return "", err
	}
	info := src.Info()
	if info.Format != capture.H264 || info.Width != 320 || info.Height != 240 {
		return "", fmt.Errorf("source delivers %v %dx%d, want H264 320x240", info.Format, info.Width, info.Height)
	}
	enc, err := encode.New("auto", encode.Options{}, info)
	if err != nil {
		return "", err
	}
	defer enc.Close()
	if enc.Name() != "passthrough" {
		return "", fmt.Errorf("encoder %s, want passthrough", enc.Name())
	}
	hub := stream.NewHub(stream.HubOptions{Keyframes: enc, Logger: e.log})
	defer hub.Close()
	srv, err := stream.NewServer(hub, stream.Options{IncludeLoopback: true, Logger: e.log})
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pipe := &encode.Pipeline{Source: src, Encoder: enc, Logger: e.log,
		Out: func(au encode.AccessUnit) { hub.Write(au.Data, au.Keyframe, au.Time, au.Seq) }}
	pipeDone := make(chan error, 1)
	go func() { pipeDone <- pipe.Run(ctx) }()
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-pipeDone
		<-srvDone
	}()

	c, err := whepclient.Dial(ctx, "http://"+ln.Addr().String()+"/whep", whepclient.Options{IncludeLoopback: true})
	if err != nil {
		return "", err
	}
	defer c.Close()
	fed := h264.SplitAccessUnits(testH264)
	var got []whepclient.AccessUnit
	timeout := time.After(20 * time.Second)
	for len(got) < 45 {
		select {
		case u := <-c.Units():
			got = append(got, u)
		case <-timeout:
			return "", fmt.Errorf("%d access units in 20 s (pipeline %+v)", len(got), pipe.Stats())
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if !h264.IsKeyframe(got[0].Data) || !h264.Contains(got[0].Data, h264.TypeSPS) || !h264.Contains(got[0].Data, h264.TypePPS) {
		return "", fmt.Errorf("first access unit holds %v, want SPS, PPS and an IDR", nalTypes(got[0].Data))
	}
	sps, err := h264.ParseSPS(h264.SplitNALs(got[0].Data)[0])
	if err != nil || sps.Width != 320 || sps.Height != 240 {
		return "", fmt.Errorf("first SPS: %+v, %v; want 320x240", sps, err)
	}
	// Every access unit must be one the camera sent, in order.
	pos := -1
	for i, u := range got {
		next := -1
		for k := 1; k <= len(fed); k++ {
			cand := (pos + k + len(fed)) % len(fed)
			if pos < 0 {
				cand = k - 1
			}
			if sameNALs(u.Data, fed[cand]) {
				next = cand
				break
			}
		}
		if next < 0 {
			return "", fmt.Errorf("access unit %d (%v) is none of the camera's", i, nalTypes(u.Data))
		}
		pos = next
	}
	st := pipe.Stats()
	return fmt.Sprintf("received=%d first=IDR(%s) keyframes=%d fed=%d camera_status=%s", len(got), sps.ProfileLevelID(), st.Keyframes, fd.count(), src.Status().State), nil
}

// vclAndParams lists the NAL units a decoder needs (parameter sets and
// slices), leaving out SEI, AUD and filler, which packetizers may drop.
func vclAndParams(au []byte) [][]byte {
	var out [][]byte
	for _, n := range h264.SplitNALs(au) {
		if t := h264.TypeOf(n); t.IsVCL() || t == h264.TypeSPS || t == h264.TypePPS {
			out = append(out, n)
		}
	}
	return out
}

func sameNALs(a, b []byte) bool {
	na, nb := vclAndParams(a), vclAndParams(b)
	if len(na) != len(nb) {
		return false
	}
	for i := range na {
		if !bytes.Equal(na[i], nb[i]) {
			return false
		}
	}
	return true
}

func nalTypes(au []byte) []h264.NALType {
	var t []h264.NALType
	for _, n := range h264.SplitNALs(au) {
		t = append(t, h264.TypeOf(n))
	}
	return t
}

// caseLoopbackMJPEG makes v4l2loopback an MJPEG camera: camd decodes the
// frames to I420 and the hardware encoder (vicodec, for the mechanics)
// encodes them through the pipeline.
func caseLoopbackMJPEG(ctx context.Context, e *env) (string, error) {
	fd, err := mjpegFeeder(640, 480, 30)
	if err != nil {
		return "", err
	}
	if err := fd.start(); err != nil {
		return "", err
	}
	defer fd.stop()
	src, err := capture.NewV4L2(capture.V4L2Options{Device: loopbackCard, Width: 640, Height: 480, FPS: 30, Open: e.open, Logger: e.log})
	if err != nil {
		return "", err
	}
	info := src.Info()
	if src.CameraFormat() != capture.MJPEG || info.Format != capture.I420 {
		return "", fmt.Errorf("camera sends %v, source delivers %v; want MJPEG decoded to I420", src.CameraFormat(), info.Format)
	}
	enc, err := encode.NewM2M(encode.Options{Width: info.Width, Height: info.Height, FPS: info.FPS, GOP: 10 * time.Second / 30}, info,
		encode.M2MOptions{CodedFormat: v4l2.PixFWHT, Open: e.open, Logger: e.log})
	if err != nil {
		return "", err
	}
	defer enc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var aus, keys int
	var bad error
	pipe := &encode.Pipeline{Source: src, Encoder: enc, Logger: e.log, Out: func(au encode.AccessUnit) {
		if _, err := checkFWHT(au, info.Width, info.Height); err != nil && bad == nil {
			bad = err
		}
		aus++
		if au.Keyframe {
			keys++
		}
		if aus == 40 {
			cancel()
		}
	}}
	err = pipe.Run(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return "", err
	}
	if bad != nil {
		return "", bad
	}
	if aus < 40 {
		return "", fmt.Errorf("%d pictures (pipeline %+v)", aus, pipe.Stats())
	}
	st := pipe.Stats()
	return fmt.Sprintf("camera=MJPEG delivers=I420 encoded=%d keyframes=%d dropped=%d avg_encode=%v", aus, keys, st.Dropped, st.AvgEncode.Round(time.Microsecond)), nil
}
