package stream

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/camd-project/camd/stream/control"
)

// TestDataChannelMessageCap: camd's answer caps DataChannel messages at
// 16 KiB (a=max-message-size). A 5 KiB message is answered too-big; so is
// 256 KiB from a hostile page that ignores the cap, and its channel, its
// session and the video go on.
func TestDataChannelMessageCap(t *testing.T) {
	router, err := control.NewRouter(control.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, Options{Control: router})

	pc, err := webrtc.NewAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	video := make(chan struct{}, 1000)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			select {
			case video <- struct{}{}:
			default:
			}
		}
	})
	dc, err := pc.CreateDataChannel(control.ControlLabel, nil)
	if err != nil {
		t.Fatal(err)
	}
	opened, closed := make(chan struct{}), make(chan struct{})
	in := make(chan map[string]any, 64)
	dc.OnOpen(func() { close(opened) })
	dc.OnClose(func() { close(closed) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		var v map[string]any
		if json.Unmarshal(m.Data, &v) == nil {
			in <- v
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	resp, err := http.Post(ts.url+"/whep", sdpType, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST: %d %s", resp.StatusCode, answer)
	}
	mms := regexp.MustCompile(`a=max-message-size:(\d+)`).FindStringSubmatch(string(answer))
	if mms == nil || mms[1] != "16384" {
		t.Fatalf("answer's max-message-size: %v, want 16384", mms)
	}
	// The hostile page pretends camd takes anything.
	lie := strings.Replace(string(answer), mms[0], "a=max-message-size:1073741823", 1)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: lie}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	select {
	case <-opened:
	case <-ctx.Done():
		t.Fatal("control channel did not open")
	}
	if err := dc.SendText(`{"v":1,"type":"hello","name":"` + strings.Repeat("x", 5000) + `"}`); err != nil {
		t.Fatal(err)
	}
	for m := range in {
		if m["type"] == "error" {
			if m["code"] != "too-big" {
				t.Fatalf("5 KiB message: %v, want too-big", m)
			}
			t.Logf("5 KiB message: %v %q", m["code"], m["msg"])
			break
		}
	}
	// 256 KiB despite the announced 16 KiB: pion takes it (see newAPI),
	// the router answers too-big without parsing it, and the channel and
	// the session carry on.
	if err := dc.Send(make([]byte, 256<<10)); err != nil {
		t.Fatal(err)
	}
	for m := range in {
		if m["type"] == "error" {
			if m["code"] != "too-big" {
				t.Fatalf("256 KiB message: %v, want too-big", m)
			}
			t.Logf("256 KiB message: %v %q", m["code"], m["msg"])
			break
		}
	}
	if err := dc.SendText(`{"v":1,"type":"hello","name":"after"}`); err != nil {
		t.Fatal(err)
	}
	for m := range in {
		if m["type"] == "welcome" {
			break
		}
	}
	select {
	case <-closed:
		t.Fatal("the control channel closed")
	default:
	}
	// Video goes on, on the same session.
	for range 20 {
		<-video // drain what was there
	}
	deadline := time.After(5 * time.Second)
	for n := 0; n < 50; n++ {
		select {
		case <-video:
		case <-deadline:
			t.Fatalf("video stopped after the channel closed (%d packets)", n)
		}
	}
	if ts.sessionCount() != 1 {
		t.Fatalf("%d sessions", ts.sessionCount())
	}
}
