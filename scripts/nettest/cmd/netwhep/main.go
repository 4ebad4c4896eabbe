// Command netwhep is a WHEP viewer for the network test: it watches a
// stream and prints, every -every, one JSON line with its counters (bytes
// of video, packets, lost, recovered by retransmission), so the test can
// chart the rate it received and the loss it saw. It runs inside a network
// namespace, which the test process itself cannot enter.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/camd-project/camd/stream/whepclient"
)

// sample is one line of output.
type sample struct {
	Event     string `json:"event"` // "sample", or "error"
	UnixMs    int64  `json:"unix_ms"`
	Units     int    `json:"units"`
	Bytes     uint64 `json:"bytes"`
	Packets   uint64 `json:"packets"`
	Lost      uint64 `json:"lost"`
	Recovered uint64 `json:"recovered"`
	Padding   uint64 `json:"padding"`
	Err       string `json:"err,omitempty"`
}

func main() {
	url := flag.String("url", "", "WHEP endpoint")
	every := flag.Duration("every", 200*time.Millisecond, "time between samples")
	token := flag.String("token", "", "camd's access token")
	flag.Parse()
	enc := json.NewEncoder(os.Stdout)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	c, err := whepclient.Dial(dctx, *url, whepclient.Options{Token: *token})
	cancel()
	if err != nil {
		_ = enc.Encode(sample{Event: "error", Err: err.Error()})
		os.Exit(1)
	}
	defer c.Close()
	t := time.NewTicker(*every)
	defer t.Stop()
	units := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.Units():
			units++
		case now := <-t.C:
			st := c.Stats()
			_ = enc.Encode(sample{
				Event: "sample", UnixMs: now.UnixMilli(), Units: units, Bytes: st.Bytes, Packets: st.Packets,
				Lost: st.Lost, Recovered: st.Recovered, Padding: st.Padding,
			})
		}
	}
}
