package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// consoleMax bounds the messages a Page keeps; older ones are dropped.
const consoleMax = 1000

// Page is one tab, attached in its own CDP session. Its methods are safe
// for concurrent use.
type Page struct {
	b       *Browser
	target  string
	session string
	unsub   func()

	mu      sync.Mutex
	console []string
	dropped int

	closeOnce sync.Once
	closeErr  error
}

// NewPage opens a tab on about:blank, attaches to it, enables the Page,
// Runtime and Log domains and sets the viewport to the browser's size.
func (b *Browser) NewPage(ctx context.Context) (*Page, error) {
	var t struct {
		TargetID string `json:"targetId"`
	}
	if err := b.Call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &t); err != nil {
		return nil, fmt.Errorf("browser.NewPage: %w", err)
	}
	var a struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.Call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": t.TargetID, "flatten": true}, &a); err != nil {
		b.closeTarget(t.TargetID)
		return nil, fmt.Errorf("browser.NewPage: %w", err)
	}
	p := &Page{b: b, target: t.TargetID, session: a.SessionID}
	p.unsub = b.conn.subscribe(p.session, p.record)
	setup := []struct {
		method string
		params any
	}{
		{"Page.enable", nil},
		{"Runtime.enable", nil},
		{"Log.enable", nil},
		{"Page.setLifecycleEventsEnabled", map[string]any{"enabled": true}},
		{"Emulation.setDeviceMetricsOverride", map[string]any{
			"width": b.width, "height": b.height, "deviceScaleFactor": 1, "mobile": false}},
	}
	for _, s := range setup {
		if err := p.call(ctx, s.method, s.params, nil); err != nil {
			p.unsub()
			b.closeTarget(t.TargetID)
			return nil, fmt.Errorf("browser.NewPage: %w", err)
		}
	}
	return p, nil
}

// closeTarget closes a half-made page on an error path; ctx may be gone.
func (b *Browser) closeTarget(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), closeAnswer)
	defer cancel()
	_ = b.Call(ctx, "", "Target.closeTarget", map[string]any{"targetId": id}, nil)
}

// SessionID is the page's CDP session, for Browser.Call.
func (p *Page) SessionID() string { return p.session }

func (p *Page) call(ctx context.Context, method string, params, result any) error {
	return p.b.Call(ctx, p.session, method, params, result)
}

// Navigate loads url and waits until the page has fired its load event
// (the "load" lifecycle event of this navigation's loader, so that a late
// event of the previous page cannot end the wait). A navigation that fails
// (connection refused, bad address) is an error; a page that loads with an
// HTTP error status is not. A fragment change returns at once.
func (p *Page) Navigate(ctx context.Context, url string) error {
	// Listen before navigating: the load may come before the answer.
	loaded := make(chan string, 64)
	unsub := p.b.conn.subscribe(p.session, func(ev event) {
		if ev.Method != "Page.lifecycleEvent" {
			return
		}
		var le struct {
			LoaderID string `json:"loaderId"`
			Name     string `json:"name"`
		}
		if json.Unmarshal(ev.Params, &le) == nil && le.Name == "load" {
			select {
			case loaded <- le.LoaderID:
			default:
			}
		}
	})
	defer unsub()

	var r struct {
		LoaderID  string `json:"loaderId"`
		ErrorText string `json:"errorText"`
	}
	if err := p.call(ctx, "Page.navigate", map[string]any{"url": url}, &r); err != nil {
		return fmt.Errorf("browser.Navigate %s: %w", url, err)
	}
	if r.ErrorText != "" {
		return fmt.Errorf("browser.Navigate %s: %s", url, r.ErrorText)
	}
	if r.LoaderID == "" {
		return nil // same document (a fragment): there is no load
	}
	for {
		select {
		case id := <-loaded:
			if id == r.LoaderID {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("browser.Navigate %s: waiting for load: %w", url, ctx.Err())
		case <-p.b.conn.done:
			return fmt.Errorf("browser.Navigate %s: %w", url, p.b.conn.closedErr())
		}
	}
}

// remoteObject is CDP's Runtime.RemoteObject, the parts camd reads.
type remoteObject struct {
	Type                string          `json:"type"`
	Value               json.RawMessage `json:"value"`
	UnserializableValue string          `json:"unserializableValue"`
	Description         string          `json:"description"`
}

// String renders a console argument the way DevTools would, roughly.
func (o remoteObject) String() string {
	switch {
	case o.Type == "string":
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
	case o.UnserializableValue != "":
		return o.UnserializableValue
	case o.Description != "":
		return o.Description
	case len(o.Value) > 0:
		return string(o.Value)
	}
	return o.Type
}

// exceptionDetails is CDP's Runtime.ExceptionDetails.
type exceptionDetails struct {
	Text      string        `json:"text"`
	Exception *remoteObject `json:"exception"`
}

func (d *exceptionDetails) String() string {
	if d.Exception == nil {
		return d.Text
	}
	return d.Text + " " + d.Exception.String()
}

// Eval evaluates the JavaScript expression expr in the page, waits for it
// if it is a promise, and decodes its value as JSON into out (unless out is
// nil). undefined decodes as null and leaves out unchanged. A thrown
// exception or a rejected promise is an error wrapping ErrJS that carries
// the JavaScript message.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var r struct {
		Result           remoteObject      `json:"result"`
		ExceptionDetails *exceptionDetails `json:"exceptionDetails"`
	}
	params := map[string]any{
		"expression":    expr,
		"awaitPromise":  true,
		"returnByValue": true,
		"userGesture":   true,
	}
	if err := p.call(ctx, "Runtime.evaluate", params, &r); err != nil {
		return fmt.Errorf("browser.Eval: %w", err)
	}
	if d := r.ExceptionDetails; d != nil {
		return fmt.Errorf("browser.Eval: %w: %s", ErrJS, d)
	}
	if out == nil {
		return nil
	}
	if u := r.Result.UnserializableValue; u != "" {
		return fmt.Errorf("browser.Eval: result %s has no JSON form", u)
	}
	v := r.Result.Value
	if len(v) == 0 {
		v = json.RawMessage("null")
	}
	if err := json.Unmarshal(v, out); err != nil {
		return fmt.Errorf("browser.Eval: json.Unmarshal %.80s: %w", v, err)
	}
	return nil
}

// WaitFor evaluates expr every poll until it is true, and returns nil then.
// Until then undefined, false and exceptions (a variable not defined yet)
// count as not yet; a result that is not a boolean is an error. When ctx
// ends the error names the last exception, if any.
func (p *Page) WaitFor(ctx context.Context, expr string, poll time.Duration) error {
	if poll <= 0 {
		poll = 50 * time.Millisecond
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	var last error
	for {
		var ok bool
		err := p.Eval(ctx, expr, &ok)
		switch {
		case err == nil && ok:
			return nil
		case err == nil || errors.Is(err, ErrJS):
			last = err
		case ctx.Err() == nil:
			return fmt.Errorf("browser.WaitFor %q: %w", expr, err)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("browser.WaitFor %q: %w (last: %v)", expr, ctx.Err(), last)
			}
			return fmt.Errorf("browser.WaitFor %q: %w", expr, ctx.Err())
		}
	}
}

// Screenshot returns a PNG of the page's viewport.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var r struct {
		Data []byte `json:"data"` // base64 in JSON
	}
	if err := p.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &r); err != nil {
		return nil, fmt.Errorf("browser.Screenshot: %w", err)
	}
	return r.Data, nil
}

// Console returns the console messages, uncaught exceptions and browser
// log entries (failed loads, for one) the page produced so far, oldest
// first, one line each like "console.log: ready 42".
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.console)+1)
	if p.dropped > 0 {
		out = append(out, fmt.Sprintf("(%d earlier messages dropped)", p.dropped))
	}
	return append(out, p.console...)
}

// record keeps the events Console reports. It runs on the read loop.
func (p *Page) record(ev event) {
	var line string
	switch ev.Method {
	case "Runtime.consoleAPICalled":
		var c struct {
			Type string         `json:"type"`
			Args []remoteObject `json:"args"`
		}
		if json.Unmarshal(ev.Params, &c) != nil {
			return
		}
		args := make([]string, len(c.Args))
		for i, a := range c.Args {
			args[i] = a.String()
		}
		line = "console." + c.Type + ": " + strings.Join(args, " ")
	case "Runtime.exceptionThrown":
		var e struct {
			Details exceptionDetails `json:"exceptionDetails"`
		}
		if json.Unmarshal(ev.Params, &e) != nil {
			return
		}
		line = "exception: " + e.Details.String()
	case "Log.entryAdded":
		var l struct {
			Entry struct {
				Level string `json:"level"`
				Text  string `json:"text"`
				URL   string `json:"url"`
			} `json:"entry"`
		}
		if json.Unmarshal(ev.Params, &l) != nil {
			return
		}
		line = "log." + l.Entry.Level + ": " + l.Entry.Text
		if l.Entry.URL != "" {
			line += " (" + l.Entry.URL + ")"
		}
	default:
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.console) == consoleMax {
		copy(p.console, p.console[1:])
		p.console = p.console[:consoleMax-1]
		p.dropped++
	}
	p.console = append(p.console, line)
}

// Close closes the tab. Later calls return the first call's result.
func (p *Page) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.unsub()
		if err := p.b.Call(ctx, "", "Target.closeTarget", map[string]any{"targetId": p.target}, nil); err != nil {
			p.closeErr = fmt.Errorf("browser.Page.Close: %w", err)
		}
	})
	return p.closeErr
}
