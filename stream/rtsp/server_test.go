package rtsp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/camd-project/camd/capture/h264"
	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream"
)

// checkGoroutines fails the test if goroutines started during it are still
// running when it ends.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines left running:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
	})
}

// encoder plays the access units of a real H.264 file into a hub in a
// loop, as an encoder would, and starts over at the first (an IDR) when a
// keyframe is asked for.
type encoder struct {
	hub  *stream.Hub
	aus  [][]byte
	kf   chan struct{}
	sent chan []byte // every access unit written, when set
}

func (e *encoder) ForceKeyframe() {
	select {
	case e.kf <- struct{}{}:
	default:
	}
}

func (e *encoder) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	i := 0
	for seq := uint64(0); ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-e.kf:
			i = 0
		case <-t.C:
		}
		au := e.aus[i]
		e.hub.Write(au, h264.IsKeyframe(au), time.Now(), seq)
		if e.sent != nil {
			select {
			case e.sent <- au:
			default:
			}
		}
		i = (i + 1) % len(e.aus)
	}
}

// fixture is a hub fed from the test file and an RTSP server on it.
type fixture struct {
	hub *stream.Hub
	enc *encoder
	srv *Server
	url string
}

func newFixture(t *testing.T, opts Options, every time.Duration) *fixture {
	t.Helper()
	data, err := os.ReadFile("../../capture/testdata/testsrc-320x240.h264")
	if err != nil {
		t.Fatal(err)
	}
	return newFixtureOf(t, h264.SplitAccessUnits(data), opts, every)
}

// bigUnits is a keyframe and 29 other pictures of 64 KiB each: enough to
// fill a stalled reader's socket buffers within a second.
func bigUnits() [][]byte {
	slice := func(typ byte) []byte {
		b := make([]byte, 64<<10)
		for i := range b {
			b[i] = byte(i*7) | 1 // no start code inside
		}
		return append([]byte{0, 0, 0, 1, typ}, b...)
	}
	sps := []byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8}
	pps := []byte{0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80}
	aus := [][]byte{append(append(append([]byte{}, sps...), pps...), slice(0x65)...)}
	for range 29 {
		aus = append(aus, slice(0x41))
	}
	return aus
}

func newFixtureOf(t *testing.T, aus [][]byte, opts Options, every time.Duration) *fixture {
	t.Helper()
	if len(aus) < 10 || !h264.IsKeyframe(aus[0]) {
		t.Fatalf("test file: %d access units, first keyframe %v", len(aus), len(aus) > 0 && h264.IsKeyframe(aus[0]))
	}
	log := slog.New(slog.DiscardHandler)
	enc := &encoder{aus: aus, kf: make(chan struct{}, 1)}
	enc.hub = stream.NewHub(stream.HubOptions{Keyframes: enc, KeyframeInterval: 50 * time.Millisecond, Logger: log})
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	opts.Logger = log
	srv := New(enc.hub, opts)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); enc.run(ctx, every) }()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		enc.hub.Close()
	})
	return &fixture{hub: enc.hub, enc: enc, srv: srv, url: "rtsp://" + srv.Addr().String() + "/" + srv.opts.Path}
}

// freeUDPPair finds an even UDP port whose successor is free too.
func freeUDPPair(t *testing.T) int {
	t.Helper()
	p, err := harness.FreeUDPPair()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// reading is a gortsplib client playing the stream.
type reading struct {
	aus   <-chan [][]byte           // decoded access units (NAL units each)
	srs   <-chan *rtcp.SenderReport // RTCP sender reports
	forma *format.H264              // what DESCRIBE said
	c     *gortsplib.Client
}

// play reads the stream with gortsplib's client.
func play(t *testing.T, rawURL string, tr gortsplib.Transport) *reading {
	t.Helper()
	u, err := base.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c := &gortsplib.Client{Transport: &tr}
	if err := c.Start(u.Scheme, u.Host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	desc, _, err := c.Describe(u)
	if err != nil {
		t.Fatalf("DESCRIBE: %v", err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if medi == nil {
		t.Fatalf("no H.264 in the SDP: %+v", desc)
	}
	dec, err := forma.CreateDecoder()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		t.Fatalf("SETUP: %v", err)
	}
	out := make(chan [][]byte, 1024)
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		au, err := dec.Decode(pkt)
		if err != nil {
			if !errors.Is(err, rtph264.ErrMorePacketsNeeded) {
				t.Errorf("RTP decode: %v", err)
			}
			return
		}
		select {
		case out <- au:
		default:
			t.Error("test reader fell behind")
		}
	})
	srs := make(chan *rtcp.SenderReport, 16)
	c.OnPacketRTCP(medi, func(pkt rtcp.Packet) {
		if sr, ok := pkt.(*rtcp.SenderReport); ok {
			select {
			case srs <- sr:
			default:
			}
		}
	})
	if _, err := c.Play(nil); err != nil {
		t.Fatalf("PLAY: %v", err)
	}
	return &reading{aus: out, srs: srs, forma: forma, c: c}
}

// nals returns the NAL units of an Annex-B access unit, leaving out
// access unit delimiters, which the RTP packetizer drops.
func nals(au []byte) [][]byte {
	var out [][]byte
	for _, n := range h264.SplitNALs(au) {
		if h264.TypeOf(n) != h264.TypeAUD {
			out = append(out, n)
		}
	}
	return out
}

func sameNALs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestRTSPPlaysTheHubOverTCPAndUDP(t *testing.T) {
	checkGoroutines(t)
	f := newFixture(t, Options{UDPPort: freeUDPPair(t), UDPHost: "127.0.0.1"}, 10*time.Millisecond)
	// Let a few keyframes through so the SDP has the parameter sets.
	deadline := time.Now().Add(5 * time.Second)
	for sps, _ := f.hub.ParamSets(); sps == nil; sps, _ = f.hub.ParamSets() {
		if time.Now().After(deadline) {
			t.Fatal("the hub saw no SPS")
		}
		f.hub.RequestKeyframe("test")
		time.Sleep(20 * time.Millisecond)
	}
	for _, tr := range []gortsplib.Transport{gortsplib.TransportTCP, gortsplib.TransportUDP} {
		t.Run(tr.String(), func(t *testing.T) {
			r := play(t, f.url, tr)
			aus, forma := r.aus, r.forma
			wantSPS, wantPPS := f.hub.ParamSets()
			if sps, pps := forma.SafeParams(); !bytes.Equal(sps, wantSPS) || !bytes.Equal(pps, wantPPS) || forma.PacketizationMode != 1 {
				t.Errorf("SDP: sps %x pps %x mode %d, want %x %x 1", sps, pps, forma.PacketizationMode, wantSPS, wantPPS)
			}
			// Every access unit that arrives is one of the file's, whole,
			// and the first is the IDR that PLAY asked for.
			known := map[string]bool{}
			for _, au := range f.enc.aus {
				known[fmt.Sprint(nals(au))] = true
			}
			for i := 0; i < 60; i++ {
				select {
				case au := <-aus:
					if i == 0 && !containsIDR(au) {
						t.Fatalf("first access unit has no IDR: types %v", types(au))
					}
					if !known[fmt.Sprint(au)] {
						t.Fatalf("access unit %d (types %v) is not one the encoder wrote", i, types(au))
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("only %d access units in 10 s", i)
				}
			}
			rs := f.srv.Readers()
			if len(rs) != 1 || rs[0].Transport != strings.ToLower(tr.String()) || rs[0].Sent < 50 {
				t.Fatalf("Readers() = %+v", rs)
			}
			// A sender report came, with a wall-clock time near now.
			select {
			case sr := <-r.srs:
				secs := int64(sr.NTPTime>>32) - 2208988800
				if d := time.Since(time.Unix(secs, 0)); d < -2*time.Second || d > 30*time.Second || sr.PacketCount == 0 {
					t.Fatalf("sender report %+v: NTP time %v ago", sr, d)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no RTCP sender report")
			}
		})
	}
}

func containsIDR(au [][]byte) bool {
	for _, n := range au {
		if h264.TypeOf(n) == h264.TypeIDR {
			return true
		}
	}
	return false
}

func types(au [][]byte) []h264.NALType {
	var out []h264.NALType
	for _, n := range au {
		out = append(out, h264.TypeOf(n))
	}
	return out
}

// A reader that stops reading loses frames; the encoder and the other
// readers do not notice.
func TestRTSPSlowReaderDoesNotDisturbOthers(t *testing.T) {
	checkGoroutines(t)
	// 64 KiB every 15 ms: 4.4 MB/s, which the good reader keeps up with
	// and which fills the stalled one's socket buffers within a second.
	f := newFixtureOf(t, bigUnits(), Options{WriteTimeout: 3 * time.Second}, 15*time.Millisecond)
	host := f.srv.Addr().String()

	// The slow reader: plays over TCP with a tiny receive buffer, then
	// never reads.
	slow, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	_ = slow.(*net.TCPConn).SetReadBuffer(4096)
	br := bufio.NewReader(slow)
	send := func(req string) *base.Response {
		if _, err := io.WriteString(slow, req); err != nil {
			t.Fatal(err)
		}
		var res base.Response
		if err := res.Unmarshal(br); err != nil {
			t.Fatal(err)
		}
		return &res
	}
	res := send("SETUP rtsp://" + host + "/camd/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n")
	if res.StatusCode != base.StatusOK {
		t.Fatalf("SETUP: %d", res.StatusCode)
	}
	sess := strings.Split(res.Header["Session"][0], ";")[0]
	if res := send("PLAY rtsp://" + host + "/camd RTSP/1.0\r\nCSeq: 2\r\nSession: " + sess + "\r\n\r\n"); res.StatusCode != base.StatusOK {
		t.Fatalf("PLAY: %d", res.StatusCode)
	}

	aus := play(t, f.url, gortsplib.TransportTCP).aus
	// Watch both readers while the good one reads: the stalled one drops
	// (until WriteTimeout closes it), the good one never does.
	var mu sync.Mutex
	var fast, stalled ReaderStats
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			for _, r := range f.srv.Readers() {
				mu.Lock()
				if r.Remote == slow.LocalAddr().String() {
					stalled = r
				} else {
					fast = r
				}
				mu.Unlock()
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	got := 0
	for got < 200 { // 13 MB
		select {
		case <-aus:
			got++
		case <-time.After(10 * time.Second):
			t.Fatalf("the good reader got only %d access units", got)
		}
	}
	close(stopWatch)
	<-watched
	mu.Lock()
	defer mu.Unlock()
	if fast.Sent == 0 || fast.Dropped != 0 || stalled.Dropped == 0 {
		t.Fatalf("good reader %+v (want no drop), stalled reader %+v (want drops)", fast, stalled)
	}
	t.Logf("good reader: %d units, 0 dropped; stalled reader: %d written, %d dropped", fast.Sent, stalled.Sent, stalled.Dropped)
	// After WriteTimeout without progress the stalled reader is cut off.
	deadline := time.Now().Add(10 * time.Second)
	for len(f.srv.Readers()) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the stalled reader was not closed: %+v", f.srv.Readers())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close ends connected readers and every goroutine.
func TestRTSPCloseWithReaders(t *testing.T) {
	checkGoroutines(t)
	f := newFixture(t, Options{UDPPort: freeUDPPair(t)}, 10*time.Millisecond)
	for _, tr := range []gortsplib.Transport{gortsplib.TransportTCP, gortsplib.TransportUDP} {
		<-play(t, f.url, tr).aus
	}
	if n := len(f.srv.Readers()); n != 2 {
		t.Fatalf("%d readers, want 2", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.srv.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.Readers()); n != 0 {
		t.Fatalf("%d readers after Close", n)
	}
	if _, err := net.Dial("tcp", f.srv.Addr().String()); err == nil {
		t.Fatal("still listening after Close")
	}
}
