package faults

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
)

// slowConn is a client that sends a request's headers one byte at a time,
// never finishing them. closed is when camd closed the connection; answer
// is whatever camd wrote before.
type slowConn struct {
	conn   net.Conn
	opened time.Time
	closed time.Time
	answer string
}

func dialSlow(t *testing.T, addr string, trickle bool) *slowConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &slowConn{conn: c, opened: time.Now()}
	if trickle {
		go func() {
			msg := "GET /healthz HTTP/1.1\r\nHost: camd\r\nX-Slow: " + strings.Repeat("a", 1000)
			for i := 0; i < len(msg); i++ {
				if _, err := c.Write([]byte{msg[i]}); err != nil {
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
	}
	return s
}

// wait reads until camd closes the connection or the deadline passes.
func (s *slowConn) wait(deadline time.Time) {
	_ = s.conn.SetReadDeadline(deadline)
	b, _ := io.ReadAll(bufio.NewReader(s.conn))
	s.answer = string(b)
	if time.Now().Before(deadline) {
		s.closed = time.Now()
	}
	s.conn.Close()
}

func waitAll(conns []*slowConn, deadline time.Time) {
	var wg sync.WaitGroup
	for _, s := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); s.wait(deadline) }()
	}
	wg.Wait()
}

// TestSlowloris: 100 clients trickle their headers a byte every 200 ms.
// camd keeps answering other clients meanwhile, closes every slow one
// after its 5 s header timeout, and its goroutines come back down. Then
// 300 silent connections at once: beyond the cap of 256 camd answers 503
// at once, and after the timeout serves as before.
func TestSlowloris(t *testing.T) {
	c := harness.StartTest(t, camdBin, small...)
	addr := strings.TrimPrefix(c.URL, "http://")
	base := settle(t, c.URL, 5*time.Second)

	start := time.Now()
	var slow []*slowConn
	for range 100 {
		slow = append(slow, dialSlow(t, addr, true))
	}
	done := make(chan struct{})
	go func() { waitAll(slow, start.Add(20*time.Second)); close(done) }()

	// Other clients are served throughout.
	var served, worst = 0, time.Duration(0)
	for i := 0; ; i++ {
		select {
		case <-done:
		case <-time.After(200 * time.Millisecond):
			t0 := time.Now()
			code, body, err := httpGet(c.URL+"/healthz", 3*time.Second)
			if err != nil || code != 200 {
				t.Fatalf("healthz during the slowloris (%v in): %d %q %v", time.Since(start).Round(time.Millisecond), code, body, err)
			}
			served++
			worst = max(worst, time.Since(t0))
			continue
		}
		break
	}
	var first, last time.Duration
	for i, s := range slow {
		if s.closed.IsZero() {
			t.Fatalf("slow connection %d still open after 20 s", i)
		}
		d := s.closed.Sub(s.opened)
		if i == 0 || d < first {
			first = d
		}
		last = max(last, d)
	}
	t.Logf("100 slow clients: closed by camd %v to %v after connecting (answer %q); %d other requests served meanwhile, slowest %v",
		first.Round(time.Millisecond), last.Round(time.Millisecond), firstLine(slow[0].answer), served, worst.Round(time.Millisecond))
	if first < 4500*time.Millisecond || last > 12*time.Second {
		t.Fatalf("slow clients closed after %v..%v, want about the 5 s header timeout", first, last)
	}
	if served < 10 {
		t.Fatalf("only %d requests served during the slowloris", served)
	}

	// A flood of silent connections: the ones beyond the cap get 503 at once.
	start = time.Now()
	var flood []*slowConn
	for range 300 {
		flood = append(flood, dialSlow(t, addr, false))
	}
	waitAll(flood, start.Add(20*time.Second))
	refused, timedOut := 0, 0
	for i, s := range flood {
		switch {
		case s.closed.IsZero():
			t.Fatalf("silent connection %d still open after 20 s", i)
		case strings.HasPrefix(s.answer, "HTTP/1.1 503") && strings.Contains(s.answer, "too many open connections"):
			refused++
			if d := s.closed.Sub(s.opened); d > 3*time.Second {
				t.Fatalf("refused after %v, want at once", d)
			}
		default:
			timedOut++
		}
	}
	t.Logf("300 silent connections: %d refused with 503 at once (%q), %d closed after the header timeout", refused, firstLine(flood[len(flood)-1].answer), timedOut)
	if refused < 300-256 || timedOut > 256 {
		t.Fatalf("%d refused, %d held: the cap of 256 open connections did not hold", refused, timedOut)
	}
	if code, _, err := httpGet(c.URL+"/healthz", 3*time.Second); err != nil || code != 200 {
		t.Fatalf("healthz after the flood: %d %v", code, err)
	}
	after := settle(t, c.URL, 10*time.Second)
	t.Logf("camd goroutines: %d before, %d after", base, after)
	if after > base+5 {
		t.Fatalf("goroutines %d after the slow clients left, %d before", after, base)
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\r\n"); return l }
