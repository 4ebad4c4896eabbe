package browser

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain closes the shared browser after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if sharedBrowser.b != nil {
		if err := sharedBrowser.b.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing the shared browser:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// sharedBrowser is the one browser of the tests that need no browser of
// their own; starting Chromium costs about a second.
var sharedBrowser struct {
	once sync.Once
	b    *Browser
	err  error
}

// shared returns the shared browser (320x240), starting it on first use.
func shared(t testing.TB) *Browser {
	t.Helper()
	requireChromium(t)
	sharedBrowser.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		sharedBrowser.b, sharedBrowser.err = Launch(ctx, Options{Width: 320, Height: 240})
	})
	if sharedBrowser.err != nil {
		t.Fatal(sharedBrowser.err)
	}
	return sharedBrowser.b
}

// launch starts a browser for t and closes it when t ends. Without
// Chromium the test is skipped, except in CI where that is a failure.
func launch(t testing.TB, opts Options) *Browser {
	t.Helper()
	requireChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	b, err := Launch(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

func requireChromium(t testing.TB) {
	t.Helper()
	if _, err := Find(); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
}

// newPage opens a page, prints its console if t fails and closes it when
// t ends.
func newPage(t testing.TB, ctx context.Context, b *Browser) *Page {
	t.Helper()
	p, err := b.NewPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console of the page:\n%s", strings.Join(p.Console(), "\n"))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil && !errors.Is(err, ErrClosed) {
			t.Error(err)
		}
	})
	return p
}

// serve serves html at / on 127.0.0.1 (404 elsewhere) until t ends.
func serve(t testing.TB, html string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(html))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// waitConsole waits until a line of p's console contains s.
func waitConsole(t testing.TB, p *Page, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range p.Console() {
			if strings.Contains(l, s) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("no console line contains %q; have:\n%s", s, strings.Join(p.Console(), "\n"))
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
