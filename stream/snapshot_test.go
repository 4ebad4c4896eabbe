package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSnapshotEndpoint(t *testing.T) {
	jpeg := []byte("\xff\xd8 a picture \xff\xd9")
	cases := []struct {
		name   string
		snap   func(ctx context.Context) ([]byte, error)
		method string
		code   int
		body   string
	}{
		{"picture", func(context.Context) ([]byte, error) { return jpeg, nil }, "GET", 200, string(jpeg)},
		{"head", func(context.Context) ([]byte, error) { return jpeg, nil }, "HEAD", 200, ""},
		{"h264 source", func(context.Context) ([]byte, error) {
			return nil, fmt.Errorf("the source gives H.264: %w", errors.ErrUnsupported)
		}, "GET", 501, "no snapshot: the source gives H.264: unsupported operation\n"},
		{"stalled camera", func(ctx context.Context) ([]byte, error) {
			<-ctx.Done()
			return nil, fmt.Errorf("no frame: %w", ctx.Err())
		}, "GET", 503, "no snapshot: no frame from the camera within 3s\n"},
		{"broken", func(context.Context) ([]byte, error) { return nil, errors.New("jpeg: boom") }, "GET", 500, "no snapshot: jpeg: boom\n"},
		{"not wired", nil, "GET", 501, "snapshots are not available\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, err := NewServer(NewHub(HubOptions{}), Options{Snapshot: c.snap, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, httptest.NewRequest(c.method, "/snapshot.jpg", nil))
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != c.code || string(body) != c.body {
				t.Fatalf("%d %q, want %d %q", res.StatusCode, body, c.code, c.body)
			}
			if c.code == http.StatusOK {
				h := res.Header
				if h.Get("Content-Type") != "image/jpeg" || h.Get("Cache-Control") != "no-store" || h.Get("Content-Length") != fmt.Sprint(len(jpeg)) {
					t.Fatalf("headers %v", h)
				}
			}
		})
	}
}
