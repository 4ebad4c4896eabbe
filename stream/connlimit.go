package stream

import (
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// defaultMaxConns caps open HTTP connections unless Options.MaxConns says
// otherwise: far more than a camera's viewers and their pages need, few
// enough that a flood of idle or slow connections cannot exhaust the
// board's memory or file descriptors.
const defaultMaxConns = 256

// tooManyConns is written, unread request or not, to a connection beyond
// the cap before it is closed, so a client sees why.
const tooManyConns = "HTTP/1.1 503 Service Unavailable\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 42\r\n\r\n" +
	"too many open connections; try again soon\n"

// connLimiter is a listener that keeps at most max connections open: one
// more is answered 503 and closed at once, without blocking Accept, so
// connections that free up are taken again immediately. Together with the
// server's header and idle timeouts this bounds what slow or idle clients
// (slowloris) can hold.
type connLimiter struct {
	net.Listener
	log *slog.Logger

	mu       sync.Mutex
	open     int
	max      int
	refused  uint64
	lastWarn time.Time
}

func limitConns(ln net.Listener, max int, log *slog.Logger) *connLimiter {
	if max <= 0 {
		max = defaultMaxConns
	}
	return &connLimiter{Listener: ln, max: max, log: log}
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.open < l.max {
			l.open++
			l.mu.Unlock()
			return &limitedConn{Conn: c, l: l}, nil
		}
		l.refused++
		warn := time.Since(l.lastWarn) > 10*time.Second
		if warn {
			l.lastWarn = time.Now()
		}
		refused := l.refused
		l.mu.Unlock()
		if warn {
			l.log.Warn("too many open HTTP connections; refusing more", "max", l.max, "refused", refused, "remote", c.RemoteAddr().String())
		}
		go refuse(c)
	}
}

// refuse answers 503 and closes, within a second whatever the client does.
func refuse(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(time.Second))
	_, _ = io.WriteString(c, tooManyConns)
	_ = c.Close()
}

type limitedConn struct {
	net.Conn
	l    *connLimiter
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		c.l.mu.Unlock()
	})
	return err
}
