package browser

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net"
	"strings"
	"testing"
	"time"
)

// testPage draws a 200x100 red canvas in the top left corner of a white
// page, sets a few variables, logs, and throws from a timer.
const testPage = `<!doctype html>
<html><head><style>body { margin: 0; background: #fff; }</style></head>
<body><canvas id="c" width="200" height="100"></canvas>
<script>
const g = document.getElementById('c').getContext('2d');
g.fillStyle = '#ff0000';
g.fillRect(0, 0, 200, 100);
window.answer = 42;
window.info = {name: 'camd', count: 3, ratio: 0.5, tags: ['a', 'b']};
console.log('page ready', 42);
setTimeout(() => { window.late = true; }, 300);
setTimeout(() => { throw new Error('late boom'); }, 10);
</script></body></html>`

func TestPage(t *testing.T) {
	b := shared(t)
	srv := serve(t, testPage)
	ctx := testContext(t, 20*time.Second)
	p := newPage(t, ctx, b)
	if err := p.Navigate(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}

	var n int
	if err := p.Eval(ctx, "answer", &n); err != nil || n != 42 {
		t.Errorf("Eval(answer) = %d, %v; want 42", n, err)
	}
	var s string
	if err := p.Eval(ctx, "document.location.protocol + info.name", &s); err != nil || s != "http:camd" {
		t.Errorf("Eval(string) = %q, %v", s, err)
	}
	var info struct {
		Name  string   `json:"name"`
		Count int      `json:"count"`
		Ratio float64  `json:"ratio"`
		Tags  []string `json:"tags"`
	}
	if err := p.Eval(ctx, "info", &info); err != nil || info.Name != "camd" || info.Count != 3 ||
		info.Ratio != 0.5 || strings.Join(info.Tags, ",") != "a,b" {
		t.Errorf("Eval(info) = %+v, %v", info, err)
	}
	if err := p.Eval(ctx, "new Promise(r => setTimeout(() => r(7), 50))", &n); err != nil || n != 7 {
		t.Errorf("Eval(promise) = %d, %v; want 7", n, err)
	}
	if err := p.Eval(ctx, "undefined", &n); err != nil || n != 7 {
		t.Errorf("Eval(undefined) = %d, %v; want out unchanged", n, err)
	}
	if err := p.Eval(ctx, "NaN", nil); err != nil {
		t.Errorf("Eval(NaN, nil) = %v", err)
	}
	var f float64
	if err := p.Eval(ctx, "NaN", &f); err == nil {
		t.Error("Eval(NaN, &f) succeeded; want an error: NaN has no JSON form")
	}
	if err := p.Eval(ctx, "'text'", &n); err == nil || errors.Is(err, ErrJS) {
		t.Errorf("Eval(string into int) = %v; want a decoding error", err)
	}

	for expr, want := range map[string]string{
		"(() => { throw new Error('boom'); })()": "Error: boom",
		"Promise.reject(new Error('nope'))":      "Error: nope",
		"notDefinedAnywhere + 1":                 "ReferenceError: notDefinedAnywhere is not defined",
		"syntax error here":                      "SyntaxError",
	} {
		err := p.Eval(ctx, expr, nil)
		if !errors.Is(err, ErrJS) || !strings.Contains(err.Error(), want) {
			t.Errorf("Eval(%q) = %v; want ErrJS with %q", expr, err, want)
		}
	}

	if err := p.WaitFor(ctx, "window.late === true", 20*time.Millisecond); err != nil {
		t.Error(err)
	}
	if err := p.WaitFor(ctx, "'not a boolean'", 20*time.Millisecond); err == nil {
		t.Error("WaitFor(a string) succeeded")
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err := p.WaitFor(short, "neverDefined > 0", 20*time.Millisecond)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "ReferenceError") {
		t.Errorf("WaitFor(neverDefined) = %v; want the deadline and the last exception", err)
	}

	waitConsole(t, p, "console.log: page ready 42")
	waitConsole(t, p, "exception: Uncaught Error: late boom")
}

func TestScreenshot(t *testing.T) {
	b := shared(t)
	srv := serve(t, testPage)
	ctx := testContext(t, 20*time.Second)
	p := newPage(t, ctx, b)
	if err := p.Navigate(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	data, err := p.Screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 320 || r.Dy() != 240 {
		t.Fatalf("screenshot is %v, want 320x240", r)
	}
	for _, pt := range []struct {
		x, y int
		red  bool
	}{{5, 5, true}, {100, 50, true}, {195, 95, true}, {250, 50, false}, {100, 200, false}} {
		r, g, bl, _ := img.At(pt.x, pt.y).RGBA()
		r, g, bl = r>>8, g>>8, bl>>8
		isRed := r > 240 && g < 16 && bl < 16
		isWhite := r > 240 && g > 240 && bl > 240
		if pt.red && !isRed || !pt.red && !isWhite {
			t.Errorf("pixel (%d,%d) = rgb(%d,%d,%d), want red=%v (white otherwise)", pt.x, pt.y, r, g, bl, pt.red)
		}
	}
}

func TestNavigateErrors(t *testing.T) {
	b := shared(t)
	srv := serve(t, testPage)
	ctx := testContext(t, 20*time.Second)
	p := newPage(t, ctx, b)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/"
	l.Close()
	if err := p.Navigate(ctx, refused); err == nil || !strings.Contains(err.Error(), "ERR_CONNECTION_REFUSED") {
		t.Errorf("Navigate(closed port) = %v, want ERR_CONNECTION_REFUSED", err)
	}
	if err := p.Navigate(ctx, srv.URL+"/missing"); err != nil {
		t.Errorf("Navigate(404) = %v; an HTTP error page is still a page", err)
	}
	if err := p.Navigate(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, srv.URL+"#frag"); err != nil {
		t.Errorf("Navigate(fragment) = %v", err)
	}
}

func TestContextHonoured(t *testing.T) {
	b := shared(t)
	ctx := testContext(t, 20*time.Second)
	p := newPage(t, ctx, b)

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	start := time.Now()
	err := p.Eval(short, "new Promise(() => {})", nil)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Eval(never settles) = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Eval returned %v after its deadline", d)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Eval(done, "1", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Eval(cancelled ctx) = %v", err)
	}
	var n int
	if err := p.Eval(ctx, "1 + 1", &n); err != nil || n != 2 {
		t.Errorf("Eval after a timeout = %d, %v; the page should still answer", n, err)
	}
}

func TestCall(t *testing.T) {
	b := shared(t)
	ctx := testContext(t, 20*time.Second)
	p := newPage(t, ctx, b)

	var r struct {
		Result struct {
			Value int `json:"value"`
		} `json:"result"`
	}
	if err := b.Call(ctx, p.SessionID(), "Runtime.evaluate", map[string]any{"expression": "6 * 7"}, &r); err != nil || r.Result.Value != 42 {
		t.Errorf("Call(Runtime.evaluate) = %+v, %v", r, err)
	}
	var v struct {
		Product string `json:"product"`
	}
	if err := b.Call(ctx, "", "Browser.getVersion", nil, &v); err != nil || !strings.Contains(v.Product, "Chrome") {
		t.Errorf("Call(Browser.getVersion) = %+v, %v", v, err)
	}
	err := b.Call(ctx, "", "No.suchMethod", nil, nil)
	var ce *CDPError
	if !errors.As(err, &ce) || ce.Method != "No.suchMethod" || ce.Code != -32601 || !strings.Contains(err.Error(), "No.suchMethod") {
		t.Errorf("Call(No.suchMethod) = %v, want a *CDPError naming the method", err)
	}
	if err := b.Call(ctx, "no-such-session", "Runtime.evaluate", map[string]any{"expression": "1"}, nil); !errors.As(err, &ce) {
		t.Errorf("Call(bad session) = %v, want a *CDPError", err)
	}

	// A call waiting when its page closes ends at once: Chromium never
	// answers it.
	waiting := make(chan error, 1)
	go func() { waiting <- p.Eval(ctx, "new Promise(() => {})", nil) }()
	time.Sleep(100 * time.Millisecond)
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waiting:
		if !errors.Is(err, ErrPageClosed) {
			t.Errorf("Eval pending across Page.Close = %v, want ErrPageClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Eval pending across Page.Close did not return")
	}
	if err := p.Close(ctx); err != nil {
		t.Errorf("second Page.Close = %v", err)
	}
	if err := p.Eval(ctx, "1", nil); !errors.Is(err, ErrPageClosed) {
		t.Errorf("Eval on a closed page = %v, want ErrPageClosed", err)
	}
}

func BenchmarkEval(b *testing.B) {
	br := shared(b)
	ctx := testContext(b, time.Minute)
	p := newPage(b, ctx, br)
	var n int
	for b.Loop() {
		if err := p.Eval(ctx, "1 + 1", &n); err != nil {
			b.Fatal(err)
		}
	}
}
