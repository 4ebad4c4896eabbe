package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream/whepclient"
)

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	metricType = map[string]bool{"counter": true, "gauge": true, "histogram": true, "summary": true, "untyped": true}
)

// family is one metric family as parsed from the text format.
type family struct {
	typ, help string
	samples   []sample
}

type sample struct {
	labels map[string]string
	value  float64
}

// parseProm parses the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/) strictly:
// HELP and TYPE at most once per family and before its samples, a
// family's samples together, valid names, quoted and escaped label
// values, float values, no duplicate series.
func parseProm(text string) (map[string]*family, error) {
	fams := map[string]*family{}
	seen := map[string]bool{} // series
	var cur string
	done := map[string]bool{} // families whose samples ended
	get := func(name string) *family {
		if fams[name] == nil {
			fams[name] = &family{}
		}
		return fams[name]
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		n := i + 1
		if line == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			kw, rest, _ := strings.Cut(rest, " ")
			name, arg, _ := strings.Cut(rest, " ")
			switch kw {
			case "HELP", "TYPE":
				if !metricName.MatchString(name) {
					return nil, fmt.Errorf("line %d: bad metric name %q", n, name)
				}
				f := get(name)
				if len(f.samples) > 0 {
					return nil, fmt.Errorf("line %d: %s for %s after its samples", n, kw, name)
				}
				if kw == "TYPE" {
					if f.typ != "" || !metricType[arg] {
						return nil, fmt.Errorf("line %d: duplicate or bad TYPE %q", n, line)
					}
					f.typ = arg
				} else {
					if f.help != "" {
						return nil, fmt.Errorf("line %d: duplicate HELP", n)
					}
					f.help = arg
				}
				if cur != name && cur != "" {
					done[cur] = true
				}
				cur = name
			}
			continue
		}
		name, labels, value, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v: %q", n, err, line)
		}
		if done[name] {
			return nil, fmt.Errorf("line %d: samples of %s are not together", n, name)
		}
		if cur != name && cur != "" {
			done[cur] = true
		}
		cur = name
		key := name + fmt.Sprint(labels)
		if seen[key] {
			return nil, fmt.Errorf("line %d: duplicate series %s", n, key)
		}
		seen[key] = true
		f := get(name)
		f.samples = append(f.samples, sample{labels, value})
	}
	return fams, nil
}

func parseSample(line string) (string, map[string]string, float64, error) {
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return "", nil, 0, fmt.Errorf("no value")
	}
	name, rest := line[:i], line[i:]
	if !metricName.MatchString(name) {
		return "", nil, 0, fmt.Errorf("bad name %q", name)
	}
	labels := map[string]string{}
	if strings.HasPrefix(rest, "{") {
		rest = rest[1:]
		for !strings.HasPrefix(rest, "}") {
			k, r, ok := strings.Cut(rest, `="`)
			if !ok || !labelName.MatchString(k) {
				return "", nil, 0, fmt.Errorf("bad label in %q", rest)
			}
			var v strings.Builder
			for {
				if r == "" {
					return "", nil, 0, fmt.Errorf("unterminated label value")
				}
				c := r[0]
				r = r[1:]
				if c == '"' {
					break
				}
				if c == '\\' {
					if r == "" {
						return "", nil, 0, fmt.Errorf("bad escape")
					}
					switch r[0] {
					case '\\', '"':
						v.WriteByte(r[0])
					case 'n':
						v.WriteByte('\n')
					default:
						return "", nil, 0, fmt.Errorf("bad escape \\%c", r[0])
					}
					r = r[1:]
					continue
				}
				v.WriteByte(c)
			}
			labels[k] = v.String()
			rest = strings.TrimPrefix(r, ",")
		}
		rest = rest[1:]
	}
	fields := strings.Fields(rest)
	if len(fields) < 1 || len(fields) > 2 || !strings.HasPrefix(rest, " ") {
		return "", nil, 0, fmt.Errorf("want one value and maybe a timestamp")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", nil, 0, err
	}
	return name, labels, v, nil
}

// TestObservability checks what a supervisor and a monitoring system read
// from a running camd with one viewer: /healthz, /api/status (JSON, every
// documented field) and /metrics (valid Prometheus text, parsed strictly).
func TestObservability(t *testing.T) {
	c := harness.StartTest(t, camdBin, small...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := whepclient.Dial(ctx, c.URL+"/whep", whepclient.Options{IncludeLoopback: true, Token: harness.TestToken})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for range 10 {
		select {
		case <-v.Units():
		case <-ctx.Done():
			t.Fatal("no video")
		}
	}

	code, body, err := httpGet(c.URL+"/healthz", 5*time.Second)
	if err != nil || code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q %v", code, body, err)
	}

	code, body, err = httpGet(c.URL+"/api/status", 5*time.Second)
	if err != nil || code != 200 {
		t.Fatalf("/api/status: %d %v", code, err)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/api/status is not JSON: %v\n%s", err, body)
	}
	for _, path := range []string{"name", "version", "camera", "viewers", "source.name", "source.width", "source.height", "source.fps",
		"encoder.name", "encoder.bitrate", "encoder.errors", "encoder.restarts", "stream.access_units", "stream.keyframes",
		"stream.keyframe_requests", "bitrate", "sessions"} {
		if lookup(st, path) == nil {
			t.Errorf("/api/status lacks %s:\n%s", path, body)
		}
	}
	if lookup(st, "viewers") != 1.0 || lookup(st, "source.width") != 320.0 || lookup(st, "source.height") != 240.0 {
		t.Errorf("/api/status: viewers %v, size %vx%v; want 1, 320x240", lookup(st, "viewers"), lookup(st, "source.width"), lookup(st, "source.height"))
	}
	sess, _ := st["sessions"].([]any)
	if len(sess) != 1 {
		t.Fatalf("/api/status sessions: %v", st["sessions"])
	}
	s0 := sess[0].(map[string]any)
	for _, k := range []string{"id", "remote", "state", "since", "packets", "bytes", "access_units", "rtt_ms", "estimate_bps"} {
		if _, ok := s0[k]; !ok {
			t.Errorf("session lacks %q: %v", k, s0)
		}
	}
	if p, _ := s0["packets"].(float64); p == 0 {
		t.Errorf("session sent no packets: %v", s0)
	}

	// /metrics names viewers' addresses: it always needs the token.
	if code, _, err := httpGetNoToken(c.URL+"/metrics", 5*time.Second); err != nil || code != 401 {
		t.Errorf("/metrics without the token: %d %v, want 401", code, err)
	}
	mreq, err := http.NewRequest("GET", c.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	mreq.Header.Set("Authorization", bearer)
	resp, err := http.DefaultClient.Do(mreq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("/metrics Content-Type %q", ct)
	}
	_, text, err := httpGet(c.URL+"/metrics", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fams, err := parseProm(text)
	if err != nil {
		t.Fatalf("/metrics is not valid Prometheus text: %v\n%s", err, text)
	}
	for name, f := range fams {
		if f.typ == "" || f.help == "" {
			t.Errorf("%s has no TYPE or HELP", name)
		}
		if f.typ == "counter" && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s does not end in _total", name)
		}
		for _, s := range f.samples {
			if f.typ == "counter" && (s.value < 0 || math.IsNaN(s.value)) {
				t.Errorf("counter %s = %v", name, s.value)
			}
		}
	}
	one := func(name string) float64 {
		f := fams[name]
		if f == nil || len(f.samples) != 1 {
			t.Fatalf("/metrics: %s missing or not one sample", name)
		}
		return f.samples[0].value
	}
	if one("camd_viewers") != 1 || one("go_goroutines") < 5 || one("camd_stream_access_units_total") < 10 {
		t.Errorf("/metrics: viewers %v, goroutines %v, access units %v", one("camd_viewers"), one("go_goroutines"), one("camd_stream_access_units_total"))
	}
	if f := fams["camd_viewer_sent_packets_total"]; f == nil || len(f.samples) != 1 || f.samples[0].labels["viewer"] == "" || f.samples[0].value == 0 {
		t.Errorf("/metrics: per-viewer packets %+v", f)
	}
	t.Logf("/metrics: %d families, valid; /api/status: %d top-level fields; /healthz: 200 ok", len(fams), len(st))

	// Logs are structured (log/slog, key=value).
	if !regexp.MustCompile(`(?m)^time=\S+ level=INFO msg="camd is running" .*source=`).MatchString(c.Logs()) {
		t.Errorf("no structured start line in the log:\n%s", c.Logs())
	}
}

// lookup follows a dotted path through decoded JSON.
func lookup(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// TestParseProm shows that the parser above rejects what Prometheus would.
func TestParseProm(t *testing.T) {
	good := "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n# HELP b B.\n# TYPE b gauge\nb{v=\"x\\\"y\\n\"} 2.5\nb{v=\"z\"} NaN\n"
	if _, err := parseProm(good); err != nil {
		t.Fatalf("good text refused: %v", err)
	}
	for _, bad := range []string{
		"a 1\nb 2\na 3\n",                    // family split
		"a{v=\"x\"} 1\na{v=\"x\"} 2\n",       // duplicate series
		"# TYPE a counter\n# TYPE a gauge\n", // two types
		"a 1\n# TYPE a counter\n",            // TYPE after samples
		"# TYPE a countr\n",                  // unknown type
		"a{v=x} 1\n", "a{v=\"x} 1\n", "a 1 2 3\n", "a one\n", "1a 1\n", "a{v=\"\\q\"} 1\n",
	} {
		if _, err := parseProm(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
