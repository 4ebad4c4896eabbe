package httpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPostAndAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != "POST" || r.Header.Get("Authorization") != "Bearer tok" || string(b) != "v=0\r\n" ||
			r.Header.Get("Content-Type") != "application/sdp" || !r.Close {
			http.Error(w, "unexpected request", 400)
			return
		}
		w.Header().Set("Location", "/res/1")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "answer")
	}))
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/whip", strings.NewReader("v=0\r\n"))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := (&Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if err := resp.Body.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if resp.StatusCode != 201 || string(b) != "answer" || resp.Header.Get("Location") != "/res/1" {
		t.Fatalf("%s %q Location %q", resp.Status, b, resp.Header.Get("Location"))
	}
}

// TestRedirect: 307 and 308 keep the method and the body; resp.Request is
// the request that was answered, for resolving relative Locations.
func TestRedirect(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusTemporaryRedirect) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/c/", http.StatusPermanentRedirect) })
	mux.HandleFunc("/c/", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+" "+string(b))
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusTemporaryRedirect)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/a", bytes.NewReader([]byte("offer")))
	resp, err := (&Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "POST offer" || resp.Request.URL.Path != "/c/" {
		t.Fatalf("after redirects: %q at %s", b, resp.Request.URL)
	}

	req, _ = http.NewRequest("GET", srv.URL+"/loop", nil)
	if _, err := (&Client{}).Do(req); err == nil || !strings.Contains(err.Error(), "more than 5 redirects") {
		t.Fatalf("redirect loop: %v", err)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "over tls")
	}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	// The test server's certificate is not in the system's roots.
	if _, err := (&Client{}).Do(req); err == nil {
		t.Fatal("an unknown certificate was accepted")
	}
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	resp, err := (&Client{TLS: &tls.Config{RootCAs: pool}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "over tls" {
		t.Fatalf("%q", b)
	}
}

// TestTimeoutAndCancel: a server that never answers costs Timeout, and a
// cancelled context ends the exchange at once.
func TestTimeoutAndCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // read nothing, answer nothing
		}
	}()
	url := "http://" + ln.Addr().String() + "/"
	req, _ := http.NewRequest("GET", url, nil)
	start := time.Now()
	_, err = (&Client{Timeout: 200 * time.Millisecond}).Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("silent server: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the timeout of 200ms took %v", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx, "GET", url, nil)
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err = (&Client{Timeout: time.Minute}).Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v, want context.Canceled", err)
	}
}

func TestBadURL(t *testing.T) {
	req, _ := http.NewRequest("GET", "ftp://example.invalid/x", nil)
	if _, err := (&Client{}).Do(req); err == nil || !strings.Contains(err.Error(), "only http and https") {
		t.Fatalf("ftp: %v", err)
	}
}
