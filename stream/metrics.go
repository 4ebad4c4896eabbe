package stream

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"sort"
	"strings"
)

// metricsType is the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
const metricsType = "text/plain; version=0.0.4; charset=utf-8"

// promWriter writes metric families: HELP and TYPE once, then samples.
type promWriter struct {
	w   io.Writer
	err error
}

func (p *promWriter) family(name, typ, help string) {
	p.printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

// sample writes one sample; labels are name, value pairs. Whole numbers
// are written as integers (a bitrate reads 8000000, not 8e+06).
func (p *promWriter) sample(name string, v float64, labels ...string) {
	var b []byte
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, labels[i]...)
		b = append(b, '=', '"')
		b = append(b, escapeLabel(labels[i+1])...)
		b = append(b, '"')
	}
	if len(b) > 0 {
		b = append([]byte{'{'}, append(b, '}')...)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		p.printf("%s%s %d\n", name, b, int64(v))
		return
	}
	p.printf("%s%s %g\n", name, b, v)
}

func (p *promWriter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

// viewerMetrics are the per-viewer families, in the order viewerValues
// returns their values.
var viewerMetrics = [...]struct{ name, typ, help string }{
	{"camd_viewer_estimate_bps", "gauge", "Estimated available bitrate (GCC or REMB); 0: unknown."},
	{"camd_viewer_below_floor", "gauge", "1 while the estimate stays below the floor."},
	{"camd_viewer_loss_ratio", "gauge", "Loss in the last receiver report."},
	{"camd_viewer_lost_packets", "gauge", "Cumulative lost packets, as reported."},
	{"camd_viewer_rtt_seconds", "gauge", "Round trip from receiver reports."},
	{"camd_viewer_sent_packets_total", "counter", "Video packets sent."},
	{"camd_viewer_sent_bytes_total", "counter", "Video payload bytes sent."},
	{"camd_viewer_nacks_total", "counter", "NACKs received."},
	{"camd_viewer_nacked_packets_total", "counter", "Packets NACKed."},
	{"camd_viewer_retransmitted_packets_total", "counter", "Packets sent again after a NACK."},
	{"camd_viewer_unrepaired_packets_total", "counter", "NACKed packets not sent again in time (no longer kept, or over the retransmission budget)."},
	{"camd_viewer_pli_total", "counter", "PLIs received."},
	{"camd_viewer_fir_total", "counter", "FIRs received."},
	{"camd_viewer_dropped_access_units_total", "counter", "Pictures dropped: the viewer fell behind."},
	{"camd_viewer_probes_total", "counter", "Bandwidth probes sent."},
	{"camd_viewer_probes_up_total", "counter", "Probes that raised the estimate."},
	{"camd_viewer_padding_bytes_total", "counter", "Probe padding bytes sent."},
}

func viewerValues(v ViewerStatus) [len(viewerMetrics)]float64 {
	return [...]float64{
		float64(v.EstimateBps), b2f(v.BelowFloor), v.Loss, float64(v.LostPackets), v.RTTMs / 1000,
		float64(v.Packets), float64(v.Bytes), float64(v.NACKs), float64(v.NACKedPackets), float64(v.Retransmits), float64(v.Unrepaired),
		float64(v.PLI), float64(v.FIR), float64(v.Dropped), float64(v.Probes), float64(v.ProbesUp), float64(v.PaddingBytes),
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// writeMetrics writes st in the Prometheus text format.
func writeMetrics(w io.Writer, st Status) error {
	p := &promWriter{w: w}
	br := st.Bitrate
	for _, g := range []struct {
		name, typ, help string
		v               float64
	}{
		{"camd_encoder_target_bps", "gauge", "The encoder's bitrate target.", float64(br.TargetBps)},
		{"camd_bitrate_floor_bps", "gauge", "The lowest target.", float64(br.FloorBps)},
		{"camd_bitrate_ceiling_bps", "gauge", "The highest target.", float64(br.CeilingBps)},
		{"camd_bitrate_adaptive", "gauge", "1 when the viewers' estimates steer the encoder.", b2f(br.Adaptive)},
		{"camd_bitrate_updates_total", "counter", "Changes of the encoder target.", float64(br.Updates)},
		{"camd_viewers", "gauge", "Viewer sessions.", float64(st.Viewers)},
		{"camd_stream_access_units_total", "counter", "Access units from the encoder.", float64(st.Stream.AccessUnits)},
		{"camd_stream_bytes_total", "counter", "Bytes from the encoder.", float64(st.Stream.Bytes)},
		{"camd_stream_keyframes_total", "counter", "Keyframes from the encoder.", float64(st.Stream.Keyframes)},
		{"camd_encoder_errors_total", "counter", "Frames the encoder failed on.", float64(st.Encoder.Errors)},
		{"camd_encoder_restarts_total", "counter", "Encoder rebuilds after it kept failing.", float64(st.Encoder.Restarts)},
		{"go_goroutines", "gauge", "Number of goroutines that currently exist.", float64(runtime.NumGoroutine())},
		{"camd_viewers_joined_cached_total", "counter", "Viewers that started on the cached keyframe, forcing none.", float64(st.Stream.JoinedCached)},
	} {
		p.family(g.name, g.typ, g.help)
		p.sample(g.name, g.v)
	}
	if st.RTSP != nil {
		p.family("camd_rtsp_readers", "gauge", "RTSP readers playing.")
		p.sample("camd_rtsp_readers", float64(st.RTSP.Readers))
	}
	p.family("camd_keyframes_forced_total", "counter", "Forced keyframes, by the first request's reason.")
	for _, r := range sortedKeys(st.Stream.KeyframesForcedBy) {
		p.sample("camd_keyframes_forced_total", float64(st.Stream.KeyframesForcedBy[r]), "reason", r)
	}
	p.family("camd_keyframe_requests_total", "counter", "Keyframe requests before coalescing, by reason.")
	for _, r := range sortedKeys(st.Stream.KeyframeReqs) {
		p.sample("camd_keyframe_requests_total", float64(st.Stream.KeyframeReqs[r]), "reason", r)
	}
	values := make([][len(viewerMetrics)]float64, len(st.Sessions))
	for i, v := range st.Sessions {
		values[i] = viewerValues(v)
	}
	for j, m := range viewerMetrics {
		p.family(m.name, m.typ, m.help)
		for i, v := range st.Sessions {
			if j == 0 {
				p.sample(m.name, values[i][j], "viewer", v.ID, "source", v.EstimateSource)
			} else {
				p.sample(m.name, values[i][j], "viewer", v.ID)
			}
		}
	}
	return p.err
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", metricsType)
	w.Header().Set("Cache-Control", "no-store")
	if err := writeMetrics(w, s.Status()); err != nil {
		s.log.Debug("metrics", "err", err)
	}
}
