package stream

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// snapshotTimeout bounds the wait for a frame: a camera that gives none
// for this long is stalled or unplugged.
const snapshotTimeout = 3 * time.Second

// snapshot serves GET (and HEAD) /snapshot.jpg: the next frame as a JPEG,
// from Options.Snapshot. It never touches the stream: the encoder copies
// one frame, and the JPEG is made on this request's goroutine.
func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) {
	if s.opts.Snapshot == nil {
		httpError(w, http.StatusNotImplemented, "snapshots are not available")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), snapshotTimeout)
	defer cancel()
	b, err := s.opts.Snapshot(ctx)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		httpError(w, http.StatusNotImplemented, "no snapshot: %v", err)
		return
	case errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "no snapshot: no frame from the camera within %v", snapshotTimeout)
		return
	case err != nil:
		if r.Context().Err() == nil {
			s.log.Warn("snapshot failed", "err", err)
		}
		httpError(w, http.StatusInternalServerError, "no snapshot: %v", err)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}
