package stream

import (
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/camd-project/camd/stream/auth"
)

// Status is the JSON of /api/status.
type Status struct {
	Name     string         `json:"name"`
	Version  string         `json:"version,omitempty"`
	Source   SourceStatus   `json:"source"`
	Encoder  EncoderStatus  `json:"encoder"`
	Camera   string         `json:"camera"` // "ok" or "disconnected"
	Viewers  int            `json:"viewers"`
	Sessions []ViewerStatus `json:"sessions"`
	Stream   StreamStatus   `json:"stream"`
	Bitrate  BitrateStatus  `json:"bitrate"`
	// RTSP is filled in by Options.Status when the RTSP server runs.
	RTSP *RTSPStatus `json:"rtsp,omitempty"`
	// Push is the WHIP push, when one is configured.
	Push *PushStatus `json:"push,omitempty"`
}

// RTSPStatus reports the RTSP server (stream/rtsp): its URL on this
// machine and the readers playing.
type RTSPStatus struct {
	URL     string `json:"url"`
	Readers int    `json:"readers"`
	// Sessions are the readers' counters ([]rtsp.ReaderStats).
	Sessions any `json:"sessions"`
}

// PushStatus is the state of camd's WHIP push (package stream/whip).
type PushStatus struct {
	URL string `json:"url"`
	// State is "connecting", "connected", "retrying" (waiting before the
	// next attempt) or "stopped".
	State     string    `json:"state"`
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since"` // when State last changed
	// Resource is the session's URL on the ingest (from Location).
	Resource string `json:"resource,omitempty"`
	// Session is the push's id among the sessions.
	Session string `json:"session,omitempty"`
	// Attempts counts POSTs; Connects the sessions that came up.
	Attempts  uint64    `json:"attempts"`
	Connects  uint64    `json:"connects"`
	LastError string    `json:"last_error,omitempty"`
	ErrorAt   time.Time `json:"error_at,omitzero"`
	// NextAttempt is when the next attempt starts while retrying.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// SourceStatus describes the capture source.
type SourceStatus struct {
	Name    string  `json:"name"`
	Format  string  `json:"format"`
	Width   int     `json:"width"`
	Height  int     `json:"height"`
	FPS     float64 `json:"fps"`
	Dropped uint64  `json:"dropped"`
}

// EncoderStatus describes the encoder.
type EncoderStatus struct {
	Name    string `json:"name"`
	Bitrate int    `json:"bitrate"`
	// Errors counts frames the encoder failed on; Restarts, the times it
	// was rebuilt after failing many frames in a row.
	Errors   uint64 `json:"errors"`
	Restarts uint64 `json:"restarts"`
}

// StreamStatus reports the hub's counters.
type StreamStatus struct {
	AccessUnits     uint64            `json:"access_units"`
	Bytes           uint64            `json:"bytes"`
	Keyframes       uint64            `json:"keyframes"`
	KeyframesForced uint64            `json:"keyframes_forced"`
	KeyframeReqs    map[string]uint64 `json:"keyframe_requests"`
	// KeyframesForcedBy counts forced keyframes by the reason of the
	// first request each one served.
	KeyframesForcedBy map[string]uint64 `json:"keyframes_forced_by"`
	// JoinedCached counts viewers that started on the cached keyframe
	// (HubOptions.JoinWindow) without forcing one.
	JoinedCached uint64 `json:"joined_cached"`
}

// Status returns what /api/status serves.
func (s *Server) Status() Status {
	var st Status
	if s.opts.Status != nil {
		st = s.opts.Status()
	}
	br := s.rc.status()
	for _, v := range s.sessionList() {
		vs := v.status()
		vs.BelowFloor = slices.Contains(br.BelowFloor, v.id)
		st.Sessions = append(st.Sessions, vs)
	}
	sort.Slice(st.Sessions, func(i, j int) bool { return st.Sessions[i].Since.Before(st.Sessions[j].Since) })
	st.Viewers = len(st.Sessions)
	hs := s.hub.Stats()
	st.Stream = StreamStatus{
		AccessUnits: hs.AccessUnits, Bytes: hs.Bytes, Keyframes: hs.Keyframes,
		KeyframesForced: hs.Keyframe.Forced, KeyframeReqs: hs.Keyframe.Requests,
		KeyframesForcedBy: hs.ForcedBy, JoinedCached: hs.JoinedCached,
	}
	st.Bitrate = br
	if br.Adaptive {
		st.Encoder.Bitrate = br.TargetBps
	}
	if st.Camera == "" {
		st.Camera = "ok"
	}
	return st
}

// apiStatus serves Status. A request without the token (auth.view =
// "open") sees the viewers without their addresses.
func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request) {
	st := s.Status()
	if !auth.Authenticated(r.Context()) {
		for i := range st.Sessions {
			st.Sessions[i].Remote = ""
		}
	}
	writeJSON(w, st)
}
