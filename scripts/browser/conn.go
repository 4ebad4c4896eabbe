package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// message is any message on the pipe: a command (ID, Method, Params), its
// response (ID, Result or Error) or an event (Method, Params). SessionID
// names the attached target; it is empty for the browser itself.
type message struct {
	ID        int64           `json:"id,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"` // a string, as of Chromium 156
	} `json:"error,omitempty"`

	detached bool // not from Chromium: the call's session went away
}

// pending is a call waiting for its response.
type pending struct {
	ch      chan *message // buffered (1)
	session string
}

// event is a CDP event delivered to a subscriber.
type event struct {
	Method string
	Params json.RawMessage
}

// handler receives the events of one session. It runs on the read loop, so
// it must not block and must not call into the conn.
type handler func(event)

// conn routes CDP messages over a pair of pipes: responses to the caller
// waiting on their id, events to the handlers subscribed to their session.
type conn struct {
	w   io.Writer
	wmu sync.Mutex // one message at a time on w

	mu       sync.Mutex
	nextID   int64
	pending  map[int64]pending
	detached map[string]bool // sessions Chromium said are gone
	subs     map[string]map[int]handler
	nextSub  int
	err      error // why the read loop ended; set before done is closed

	done chan struct{} // closed when the read loop has ended
}

// newConn starts the read loop on r. The loop ends when r returns an error
// (EOF when Chromium exits, or r is closed).
func newConn(r io.Reader, w io.Writer) *conn {
	c := &conn{
		w:        w,
		pending:  make(map[int64]pending),
		detached: make(map[string]bool),
		subs:     make(map[string]map[int]handler),
		done:     make(chan struct{}),
	}
	go c.readLoop(r)
	return c
}

func (c *conn) readLoop(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	var err error
	for {
		var b []byte
		b, err = br.ReadBytes(0)
		if err != nil {
			break
		}
		var m message
		if jerr := json.Unmarshal(b[:len(b)-1], &m); jerr != nil {
			continue // not ours to fix; a caller times out through ctx
		}
		c.dispatch(&m)
	}
	c.mu.Lock()
	c.err = err
	c.pending = nil
	c.mu.Unlock()
	close(c.done)
}

func (c *conn) dispatch(m *message) {
	if m.ID != 0 {
		c.mu.Lock()
		p, ok := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if ok {
			p.ch <- m // buffered, never blocks
		}
		return
	}
	if m.Method == "" {
		return
	}
	if m.Method == "Target.detachedFromTarget" && m.SessionID == "" {
		c.detach(m.Params)
	}
	c.mu.Lock()
	hs := make([]handler, 0, len(c.subs[m.SessionID]))
	for _, h := range c.subs[m.SessionID] {
		hs = append(hs, h)
	}
	c.mu.Unlock()
	ev := event{Method: m.Method, Params: m.Params}
	for _, h := range hs {
		h(ev)
	}
}

// detach fails the calls waiting on a session that went away (Chromium
// does not answer them) and refuses later ones.
func (c *conn) detach(params json.RawMessage) {
	var d struct {
		SessionID string `json:"sessionId"`
	}
	if json.Unmarshal(params, &d) != nil || d.SessionID == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.detached[d.SessionID] = true
	for id, p := range c.pending {
		if p.session == d.SessionID {
			delete(c.pending, id)
			p.ch <- &message{detached: true}
		}
	}
}

// subscribe registers h for the events of session and returns the function
// that removes it.
func (c *conn) subscribe(session string, h handler) (unsubscribe func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextSub
	c.nextSub++
	if c.subs[session] == nil {
		c.subs[session] = make(map[int]handler)
	}
	c.subs[session][id] = h
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.subs[session], id)
		if len(c.subs[session]) == 0 {
			delete(c.subs, session)
		}
	}
}

// closedErr reports why the connection is gone.
func (c *conn) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil && c.err != io.EOF {
		return fmt.Errorf("%w: %w", ErrClosed, c.err)
	}
	return ErrClosed
}

// call sends one command and waits for its response, ctx, or the end of the
// connection. A CDP error becomes a *CDPError. result, if not nil, receives
// the response's result object.
func (c *conn) call(ctx context.Context, session, method string, params, result any) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	var raw json.RawMessage
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("%s: json.Marshal params: %w", method, err)
		}
		raw = b
	}
	ch := make(chan *message, 1)
	c.mu.Lock()
	if c.pending == nil {
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, c.closedErr())
	}
	if c.detached[session] {
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ErrPageClosed)
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = pending{ch: ch, session: session}
	c.mu.Unlock()

	// encoding/json escapes NUL, so the message cannot end early.
	b, err := json.Marshal(message{ID: id, SessionID: session, Method: method, Params: raw})
	if err != nil {
		c.forget(id)
		return fmt.Errorf("%s: json.Marshal: %w", method, err)
	}
	c.wmu.Lock()
	_, err = c.w.Write(append(b, 0))
	c.wmu.Unlock()
	if err != nil {
		// Chromium closed its end of the command pipe: it is gone, or
		// about to be.
		c.forget(id)
		return fmt.Errorf("%s: %w: write: %w", method, ErrClosed, err)
	}

	m, err := c.wait(ctx, id, method, ch)
	if err != nil {
		return err
	}
	if m.detached {
		return fmt.Errorf("%s: %w", method, ErrPageClosed)
	}
	if m.Error != nil {
		e := &CDPError{Method: method, Code: m.Error.Code, Message: m.Error.Message}
		if json.Unmarshal(m.Error.Data, &e.Data) != nil {
			e.Data = string(m.Error.Data)
		}
		return e
	}
	if result != nil && len(m.Result) > 0 {
		if err := json.Unmarshal(m.Result, result); err != nil {
			return fmt.Errorf("%s: json.Unmarshal result: %w", method, err)
		}
	}
	return nil
}

// wait returns the response to command id, or why it will not come.
func (c *conn) wait(ctx context.Context, id int64, method string, ch chan *message) (*message, error) {
	select {
	case m := <-ch:
		return m, nil
	case <-ctx.Done():
		c.forget(id)
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	case <-c.done:
		select {
		case m := <-ch: // answered just before the end
			return m, nil
		default:
			return nil, fmt.Errorf("%s: %w", method, c.closedErr())
		}
	}
}

func (c *conn) forget(id int64) {
	c.mu.Lock()
	if c.pending != nil {
		delete(c.pending, id)
	}
	c.mu.Unlock()
}
