package stream

import (
	"context"
	"io"
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

// TestUnrepairableNACKAsksForKeyframe: a NACK camd answers asks for
// nothing more; a NACK for a packet camd no longer keeps cannot be
// answered, so the viewer's picture stays broken until the next keyframe:
// camd asks the encoder for one at once (at most one per lossKeyframeEvery
// for each viewer), and counts the packets.
func TestUnrepairableNACKAsksForKeyframe(t *testing.T) {
	ts := newTestServer(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := whepclient.Dial(ctx, ts.url+"/whep", whepclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 10; i++ {
		select {
		case <-c.Units():
		case <-ctx.Done():
			t.Fatal("no video")
		}
	}
	session := func() ViewerStatus {
		for _, s := range ts.Status().Sessions {
			return s
		}
		t.Fatal("no session")
		return ViewerStatus{}
	}
	// wait polls until ok holds for the viewer's status and the hub's
	// loss requests.
	wait := func(what string, ok func(v ViewerStatus, loss uint64) bool) {
		t.Helper()
		for {
			v, loss := session(), ts.hub.Stats().Keyframe.Requests[ReasonLoss]
			if ok(v, loss) {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: status %+v, %d loss requests", what, v, loss)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	high, _ := c.HighestSeq()
	if err := c.NACK(high - 1); err != nil {
		t.Fatal(err)
	}
	wait("a kept packet NACKed", func(v ViewerStatus, loss uint64) bool { return v.NACKedPackets == 1 })
	if v, loss := session(), ts.hub.Stats().Keyframe.Requests[ReasonLoss]; v.Unrepaired != 0 || loss != 0 {
		t.Fatalf("a packet camd still keeps: %d unrepaired, %d keyframe requests for loss; want none", v.Unrepaired, loss)
	}
	gone := high - 3*nackHistory
	if err := c.NACK(gone, gone+1); err != nil {
		t.Fatal(err)
	}
	wait("packets no longer kept NACKed", func(v ViewerStatus, loss uint64) bool { return v.Unrepaired == 2 && loss == 1 })
	// More of it at once does not ask again: one viewer's loss must not
	// fill everyone's stream with keyframes.
	if err := c.NACK(gone + 2); err != nil {
		t.Fatal(err)
	}
	wait("another packet no longer kept NACKed", func(v ViewerStatus, loss uint64) bool { return v.Unrepaired == 3 })
	if loss := ts.hub.Stats().Keyframe.Requests[ReasonLoss]; loss != 1 {
		t.Fatalf("a second unrepairable NACK within %v asked for a keyframe again (%d requests)", lossKeyframeEvery, loss)
	}
	resp := do(t, "GET", ts.url+"/metrics", "", nil)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "camd_viewer_unrepaired_packets_total{") ||
		!strings.Contains(string(body), `reason="unrepaired_loss"} 1`) {
		t.Fatalf("metrics do not show the unrepaired packets and the request:\n%s", body)
	}
}
