package browser

import (
	"strings"
	"testing"
	"time"
)

// rtcPage sends an animated canvas from one RTCPeerConnection to another in
// the same page, over real ICE and UDP on this host's interfaces. The URL
// fragment picks the codec ("#H264" or "#VP8"), and "/lo" after it keeps
// only the 127.0.0.1 candidates. stats() summarises the receiver's
// getStats.
const rtcPage = `<!doctype html><html><body>
<canvas id="c" width="320" height="240"></canvas>
<video id="v" autoplay muted playsinline></video>
<script>
const canvas = document.getElementById('c'), g = canvas.getContext('2d');
let n = 0;
setInterval(() => {
  g.fillStyle = 'hsl(' + (n++ * 7 % 360) + ', 100%, 50%)';
  g.fillRect(0, 0, 320, 240);
}, 20);
const [codec, only] = location.hash.slice(1).split('/');
const pass = c => only !== 'lo' || c.address === '127.0.0.1';
const tx = new RTCPeerConnection(), rx = new RTCPeerConnection();
tx.onicecandidate = e => e.candidate && pass(e.candidate) && rx.addIceCandidate(e.candidate);
rx.onicecandidate = e => e.candidate && pass(e.candidate) && tx.addIceCandidate(e.candidate);
rx.ontrack = e => { document.getElementById('v').srcObject = e.streams[0]; };
async function start() {
  const stream = canvas.captureStream(30);
  const tr = tx.addTransceiver(stream.getVideoTracks()[0], {direction: 'sendonly', streams: [stream]});
  const want = 'video/' + codec;
  const codecs = RTCRtpReceiver.getCapabilities('video').codecs.filter(c => c.mimeType === want);
  if (codecs.length === 0) throw new Error('no ' + want + ' in this browser');
  tr.setCodecPreferences(codecs);
  await tx.setLocalDescription();
  await rx.setRemoteDescription(tx.localDescription);
  await rx.setLocalDescription();
  await tx.setRemoteDescription(rx.localDescription);
}
start().catch(e => console.error('start: ' + e));
async function stats() {
  const s = await rx.getStats();
  const r = {ice: rx.iceConnectionState, framesDecoded: 0};
  s.forEach(x => {
    if (x.type === 'inbound-rtp' && x.kind === 'video') {
      r.framesDecoded = x.framesDecoded || 0;
      r.width = x.frameWidth; r.height = x.frameHeight;
      const c = s.get(x.codecId);
      if (c) r.codec = c.mimeType + ' ' + (c.sdpFmtpLine || '');
    }
    if (x.type === 'transport' && s.get(x.selectedCandidatePairId)) {
      const p = s.get(x.selectedCandidatePairId);
      const l = s.get(p.localCandidateId), rm = s.get(p.remoteCandidateId);
      r.pair = l.address + ':' + l.port + ' ' + l.candidateType + ' -> ' +
        (rm.address || '(hidden)') + ':' + rm.port + ' ' + rm.candidateType;
    }
  });
  return r;
}
</script></body></html>`

type rtcStats struct {
	ICE           string `json:"ice"`
	FramesDecoded int    `json:"framesDecoded"`
	Width         int    `json:"width"`
	Height        int    `json:"height"`
	Codec         string `json:"codec"`
	Pair          string `json:"pair"`
}

// camd's browser tests need WebRTC to work in headless Chromium here: two
// peer connections in one page connect and the receiver keeps decoding.
func TestWebRTCLoopback(t *testing.T) {
	b := shared(t)
	srv := serve(t, rtcPage)
	for _, tc := range []struct{ name, fragment, codec, addr string }{
		{"H264", "H264", "H264", ""},
		{"VP8", "VP8", "VP8", ""},
		// What camd's tests use when pion listens on 127.0.0.1 only;
		// it needs --allow-loopback-in-peer-connection.
		{"H264-loopback", "H264/lo", "H264", "127.0.0.1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t, 15*time.Second)
			p := newPage(t, ctx, b)
			if err := p.Navigate(ctx, srv.URL+"/#"+tc.fragment); err != nil {
				t.Fatal(err)
			}
			if err := p.WaitFor(ctx, "stats().then(s => s.framesDecoded >= 10)", 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			var s0, s1 rtcStats
			if err := p.Eval(ctx, "stats()", &s0); err != nil {
				t.Fatal(err)
			}
			const span = time.Second
			time.Sleep(span)
			if err := p.Eval(ctx, "stats()", &s1); err != nil {
				t.Fatal(err)
			}
			in, err := p.InboundVideo(ctx, "rx")
			if err != nil {
				t.Fatal(err)
			}
			if !in.Found || in.Frames < float64(s1.FramesDecoded) || in.Packets == 0 || in.KeyFrames < 1 {
				t.Errorf("InboundVideo(rx) = %+v after the page counted %d frames", in, s1.FramesDecoded)
			}
			if none, err := p.InboundVideo(ctx, "null"); err != nil || none.Found {
				t.Errorf("InboundVideo(null) = %+v, %v: want nothing found", none, err)
			}
			fps := float64(s1.FramesDecoded-s0.FramesDecoded) / span.Seconds()
			t.Logf("%s: ice %s, pair %s, %dx%d, %.0f frames/s decoded",
				s1.Codec, s1.ICE, s1.Pair, s1.Width, s1.Height, fps)
			if fps < 10 {
				t.Errorf("%.0f frames/s decoded (%d -> %d), want the canvas's ~30", fps, s0.FramesDecoded, s1.FramesDecoded)
			}
			if s1.Width != 320 || s1.Height != 240 {
				t.Errorf("decoded %dx%d, want 320x240", s1.Width, s1.Height)
			}
			if want := "video/" + tc.codec; !strings.HasPrefix(s1.Codec, want) {
				t.Errorf("codec %q, want %s", s1.Codec, want)
			}
			// A socket bound to 127.0.0.1 only reaches loopback. (The far
			// end may show as peer-reflexive, its address hidden.)
			if !strings.HasPrefix(s1.Pair, tc.addr) {
				t.Errorf("candidate pair %q, want the local end on %q", s1.Pair, tc.addr)
			}
		})
	}
}
