package stream

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"

	"github.com/camd-project/camd/stream/whepclient"
)

// lossyNet is a virtual network (pion's vnet) with camd at 1.2.3.4 and a
// viewer at 1.2.3.5, where every n-th large packet from camd is lost once
// lose is set.
type lossyNet struct {
	camd, viewer *vnet.Net
	lose         atomic.Bool
	dropped      atomic.Int64
}

func newLossyNet(t *testing.T, every int64) *lossyNet {
	t.Helper()
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "1.2.3.0/24", LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		t.Fatal(err)
	}
	l := &lossyNet{}
	var n atomic.Int64
	wan.AddChunkFilter(func(c vnet.Chunk) bool {
		// Media, not the DTLS and ICE that set the session up.
		if !l.lose.Load() || !strings.HasPrefix(c.SourceAddr().String(), "1.2.3.4:") || len(c.UserData()) < 500 {
			return true
		}
		if n.Add(1)%every == 0 {
			l.dropped.Add(1)
			return false
		}
		return true
	})
	if l.camd, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"1.2.3.4"}}); err != nil {
		t.Fatal(err)
	}
	if l.viewer, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"1.2.3.5"}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*vnet.Net{l.camd, l.viewer} {
		if err := wan.AddNet(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := wan.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wan.Stop() })
	return l
}

// TestNACKRetransmissionsArrive loses one media packet in 25 on the way to
// a viewer: the viewer NACKs them, camd sends them again, and they arrive
// and fill the gaps; the status counts both sides.
func TestNACKRetransmissionsArrive(t *testing.T) {
	lossy := newLossyNet(t, 25)
	ts := newTestServer(t, Options{net: lossy.camd})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := whepclient.Dial(ctx, ts.url+"/whep", whepclient.Options{Net: lossy.viewer})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	recv := func(n int) {
		for i := 0; i < n; i++ {
			select {
			case <-c.Units():
			case <-ctx.Done():
				t.Fatalf("stalled after %d units: %+v", i, c.Stats())
			}
		}
	}
	recv(20)
	lossy.lose.Store(true)
	recv(300) // 3 s at 100 units a second, 3 packets each: ~36 lost
	lossy.lose.Store(false)
	recv(30) // the last retransmissions land
	st := c.Stats()
	var v ViewerStatus
	for _, s := range ts.Status().Sessions {
		v = s
	}
	dropped := lossy.dropped.Load()
	t.Logf("network dropped %d packets; viewer: %d recovered, %d never came; camd: %d NACKs for %d packets, %d retransmitted",
		dropped, st.Recovered, st.Lost, v.NACKs, v.NACKedPackets, v.Retransmits)
	switch {
	case dropped < 20:
		t.Fatalf("the network dropped only %d packets", dropped)
	case v.NACKs == 0 || v.NACKedPackets < uint64(dropped)/2:
		t.Fatalf("camd saw %d NACKs for %d packets after %d losses", v.NACKs, v.NACKedPackets, dropped)
	case st.Recovered < uint64(dropped)*9/10:
		t.Fatalf("%d of %d lost packets came again", st.Recovered, dropped)
	case v.Retransmits < st.Recovered:
		t.Fatalf("camd counts %d retransmissions, the viewer got %d", v.Retransmits, st.Recovered)
	case st.Lost > 2:
		t.Fatalf("%d packets never came", st.Lost)
	}
}
