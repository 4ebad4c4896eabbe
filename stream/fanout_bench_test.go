package stream

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/camd-project/camd/stream/streamtest"
	"github.com/camd-project/camd/stream/whepclient"
)

// discardWriter is a bound track's writer that drops what it gets.
type discardWriter struct{}

func (discardWriter) WriteRTP(*rtp.Header, []byte) (int, error) { return 0, nil }
func (discardWriter) Write(b []byte) (int, error)               { return len(b), nil }

// BenchmarkViewerWritePacket is camd's own per-packet, per-viewer work:
// stamp the header, remember the packet for NACKs, hand it on. It should
// not allocate.
func BenchmarkViewerWritePacket(b *testing.B) {
	var p codecs.H264Payloader
	u := &unit{payloads: p.Payload(1200, au(false, 8000)), ts: 1}
	t := newViewerTrack("bench")
	t.w, t.bound, t.pt, t.ssrc = discardWriter{}, true, 102, 1
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := t.writePacket(u, i%len(u.payloads)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkHubWrite packetizes one 8 kB access unit and offers it to V
// subscribers: the cost per unit should not grow with V beyond the
// channel sends (packetized once, shared).
func BenchmarkHubWrite(b *testing.B) {
	for _, v := range []int{1, 100} {
		b.Run(fmt.Sprintf("viewers=%d", v), func(b *testing.B) {
			h := NewHub(HubOptions{QueueDepth: 64})
			var wg sync.WaitGroup
			for range v {
				s := h.Subscribe()
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range s.C() {
					}
				}()
			}
			data := au(false, 8000)
			h.Write(au(true, 8000), true, time.Now(), 0)
			b.ReportAllocs()
			seq := uint64(1)
			for b.Loop() {
				h.Write(data, false, time.Now(), seq)
				seq++
			}
			h.Close()
			wg.Wait()
		})
	}
}

// BenchmarkSessionFanout sends access units through real sessions (pion
// interceptors, SRTP, UDP on loopback) to V whepclient viewers in the same
// process, and reports the allocations per packet per viewer, the
// viewers' receiving included.
func BenchmarkSessionFanout(b *testing.B) {
	if testing.Short() {
		b.Skip("WebRTC on loopback")
	}
	for _, v := range []int{1, 10} {
		b.Run(fmt.Sprintf("viewers=%d", v), func(b *testing.B) {
			kf := &streamtest.Encoder{}
			hub := NewHub(HubOptions{Keyframes: kf, QueueDepth: 64})
			srv, err := NewServer(hub, Options{IncludeLoopback: true, MaxViewers: 64})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			ts := newBenchHTTP(b, srv)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var clients []*whepclient.Client
			var got sync.WaitGroup
			for range v {
				c, err := whepclient.Dial(ctx, ts+"/whep", whepclient.Options{IncludeLoopback: true, Buffer: 1024})
				if err != nil {
					b.Fatal(err)
				}
				clients = append(clients, c)
				got.Add(1)
				go func() {
					defer got.Done()
					for range c.Units() {
					}
				}()
			}
			defer func() {
				for _, c := range clients {
					_ = c.Close()
				}
			}()
			for srv.sessionCount() < v || len(connected(srv)) < v {
				time.Sleep(10 * time.Millisecond)
			}
			unitAU := au(false, 8000)
			var p codecs.H264Payloader
			packets := len(p.Payload(1200, unitAU))
			hub.Write(au(true, 8000), true, time.Now(), 0)
			time.Sleep(100 * time.Millisecond)
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			seq := uint64(1)
			for b.Loop() {
				hub.Write(unitAU, false, time.Now(), seq)
				seq++
				time.Sleep(2 * time.Millisecond) // ~500 units a second: no viewer falls behind
			}
			runtime.ReadMemStats(&m1)
			perPkt := float64(m1.Mallocs-m0.Mallocs) / float64(b.N*packets*v)
			b.ReportMetric(perPkt, "allocs/packet/viewer")
			b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(b.N*packets*v), "B/packet/viewer")
		})
	}
}

func newBenchHTTP(b *testing.B, srv *Server) string {
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	return hs.URL
}

func connected(s *Server) []*session {
	var out []*session
	for _, v := range s.sessionList() {
		if v.isConnected() {
			out = append(out, v)
		}
	}
	return out
}
