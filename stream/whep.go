package stream

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/camd-project/camd/stream/auth"
)

// WHEP (draft-ietf-wish-whep, which reuses WHIP's RFC 9725 resource model):
//
//	POST   /whep       application/sdp offer → 201, Location, ETag, answer
//	PATCH  /whep/{id}  application/trickle-ice-sdpfrag → 204 (RFC 8840 fragment),
//	                   or 200 with camd's new fragment on an ICE restart
//	DELETE /whep/{id}  → 200
//	OPTIONS            → 204 with Accept-Post and CORS
//
// https://datatracker.ietf.org/doc/draft-ietf-wish-whep/ and RFC 9725 §4.

const (
	maxOfferBytes  = 64 << 10
	maxPatchBytes  = 16 << 10
	sdpType        = "application/sdp"
	sdpFragType    = "application/trickle-ice-sdpfrag"
	whepPath       = "/whep"
	corsAllowHdrs  = "Authorization, Content-Type, If-Match"
	corsExposeHdrs = "Location, ETag, Link, Accept-Patch, Accept-Post, Retry-After"
)

func (s *Server) cors(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", corsAllowHdrs)
	h.Set("Access-Control-Expose-Headers", corsExposeHdrs)
}

// linkICEServers advertises the configured STUN/TURN servers (RFC 9725 §4.6).
func (s *Server) linkICEServers(w http.ResponseWriter) {
	for _, ice := range s.opts.ICEServers {
		for _, u := range ice.URLs {
			v := fmt.Sprintf("<%s>; rel=\"ice-server\"", u)
			if ice.Username != "" {
				v += fmt.Sprintf("; username=%q; credential=%q; credential-type=\"password\"", ice.Username, ice.Credential)
			}
			w.Header().Add("Link", v)
		}
	}
}

func (s *Server) whepOptions(w http.ResponseWriter, r *http.Request) {
	s.cors(w)
	w.Header().Set("Accept-Post", sdpType)
	if r.URL.Path != whepPath {
		w.Header().Set("Accept-Patch", sdpFragType)
	}
	s.linkICEServers(w)
	w.WriteHeader(http.StatusNoContent)
}

// httpError writes a one-line plain-text reason.
func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	msg := fmt.Sprintf(format, args...)
	msg = strings.ReplaceAll(msg, "\n", " ")
	fmt.Fprintln(w, msg)
}

// readBody reads a request body of the given media type, at most limit
// bytes. It writes the error response itself and reports whether to go on.
func readBody(w http.ResponseWriter, r *http.Request, wantType string, limit int64) ([]byte, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, wantType) {
		httpError(w, http.StatusUnsupportedMediaType, "Content-Type must be %s, got %q", wantType, r.Header.Get("Content-Type"))
		return nil, false
	}
	if r.ContentLength > limit { // refuse at once, without waiting for a body that may never come
		httpError(w, http.StatusRequestEntityTooLarge, "body larger than %d bytes", limit)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, "body larger than %d bytes", limit)
		} else {
			httpError(w, http.StatusBadRequest, "reading body: %v", err)
		}
		return nil, false
	}
	return body, true
}

// checkOffer rejects what is plainly not a usable offer with a reason a
// person can act on, before any WebRTC state is created.
func checkOffer(body []byte) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return errors.New("empty SDP offer")
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(string(body)); err != nil {
		return fmt.Errorf("malformed SDP: %v", err)
	}
	hasVideo, hasH264 := false, false
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "video" {
			continue
		}
		hasVideo = true
		for _, a := range m.Attributes {
			if a.Key == "rtpmap" && strings.Contains(strings.ToUpper(a.Value), " H264/90000") {
				hasH264 = true
			}
		}
	}
	switch {
	case !hasVideo:
		return errors.New("the offer has no video section")
	case !hasH264:
		return errors.New("the offer has no H.264 codec; camd streams H.264")
	}
	return nil
}

func (s *Server) whepPost(w http.ResponseWriter, r *http.Request) {
	s.cors(w)
	body, ok := readBody(w, r, sdpType, maxOfferBytes)
	if !ok {
		return
	}
	if err := checkOffer(body); err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if n := s.sessionCount(); n >= s.opts.MaxViewers {
		w.Header().Set("Retry-After", "5")
		httpError(w, http.StatusServiceUnavailable, "viewer limit reached (%d)", s.opts.MaxViewers)
		return
	}
	sess, answer, err := s.newSession(string(body), r.RemoteAddr, auth.Authenticated(r.Context()))
	if err != nil {
		if errors.Is(err, errBadOffer) {
			httpError(w, http.StatusBadRequest, "%v", err)
			return
		}
		if errors.Is(err, errTooManyViewers) {
			w.Header().Set("Retry-After", "5")
			httpError(w, http.StatusServiceUnavailable, "%v", err)
			return
		}
		s.log.Error("whep: new session", "err", err)
		httpError(w, http.StatusInternalServerError, "could not set up the session: %v", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", sdpType)
	h.Set("Location", whepPath+"/"+sess.id)
	h.Set("ETag", sess.currentETag())
	h.Set("Accept-Patch", sdpFragType)
	s.linkICEServers(w)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// ownSession finds the session of a PATCH or DELETE. The id in the URL is
// unguessable (96 random bits) and known only to the viewer that made the
// session; a session made with the token also needs the token, so that in
// open view mode a tokenless request cannot touch it even with its id.
func (s *Server) ownSession(w http.ResponseWriter, r *http.Request) *session {
	sess := s.session(r.PathValue("id"))
	switch {
	case sess == nil:
		httpError(w, http.StatusNotFound, "no such WHEP session")
		return nil
	case sess.authenticated && !auth.Authenticated(r.Context()):
		auth.Refuse(w, auth.Verdict{Status: http.StatusUnauthorized, Reason: "this session was made with the access token: " + auth.Hint})
		return nil
	}
	return sess
}

func (s *Server) whepPatch(w http.ResponseWriter, r *http.Request) {
	s.cors(w)
	sess := s.ownSession(w, r)
	if sess == nil {
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != sess.currentETag() {
		httpError(w, http.StatusPreconditionFailed, "ETag %s does not match the session's %s", m, sess.currentETag())
		return
	}
	body, ok := readBody(w, r, sdpFragType, maxPatchBytes)
	if !ok {
		return
	}
	answer, restarted, err := sess.patch(string(body))
	switch {
	case err != nil:
		httpError(w, http.StatusBadRequest, "%v", err)
	case restarted:
		w.Header().Set("Content-Type", sdpFragType)
		w.Header().Set("ETag", sess.currentETag())
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, answer)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) whepDelete(w http.ResponseWriter, r *http.Request) {
	s.cors(w)
	sess := s.ownSession(w, r)
	if sess == nil {
		return
	}
	sess.Close()
	w.WriteHeader(http.StatusOK)
}
