package stream

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/pion/webrtc/v4"
)

// BenchmarkNewPeerConnection is what a viewer's bandwidth estimator adds to
// making its PeerConnection (the shared API hands each its own estimator,
// so no API is built per viewer). It reports the estimator's size and the
// goroutines it runs.
func BenchmarkNewPeerConnection(b *testing.B) {
	for _, c := range []struct {
		name string
		f    *estimators
	}{
		{"plain", nil},
		{"estimator", &estimators{opts: func() bweOptions { return bweOptions{Initial: 2_000_000, Min: minEstimate, Max: 6_000_000} }}},
	} {
		b.Run(c.name, func(b *testing.B) {
			api, err := newAPI(apiOptions{Estimators: c.f})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			goroutines := 0
			for b.Loop() {
				before := runtime.NumGoroutine()
				pc, est, err := c.f.newPeerConnection(api, webrtc.Configuration{})
				if err != nil {
					b.Fatal(err)
				}
				if (est != nil) != (c.f != nil) {
					b.Fatal("estimator handed out wrongly")
				}
				goroutines = runtime.NumGoroutine() - before
				if err := pc.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(goroutines), "goroutines/pc")
			if c.f != nil {
				b.ReportMetric(float64(unsafe.Sizeof(estimator{})), "estimator-bytes")
			}
		})
	}
}
