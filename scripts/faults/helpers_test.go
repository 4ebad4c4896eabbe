package faults

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// httpGet fetches url with the token, a fresh connection and a timeout.
func httpGet(url string, timeout time.Duration) (int, string, error) {
	return fetch(url, bearer, timeout)
}

// httpGetNoToken is httpGet without the Authorization header.
func httpGetNoToken(url string, timeout time.Duration) (int, string, error) {
	return fetch(url, "", timeout)
}

func fetch(url, authorization string, timeout time.Duration) (int, string, error) {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, "", err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// metric reads one unlabelled sample from camd's /metrics.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	code, body, err := httpGet(base+"/metrics", 5*time.Second)
	if err != nil || code != 200 {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// settle waits until camd's goroutine count stops falling (the same
// reading twice, half a second apart) and returns it.
func settle(t *testing.T, base string, max time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(max)
	last := -1
	for {
		n := int(metric(t, base, "go_goroutines"))
		if n == last || time.Now().After(deadline) {
			return n
		}
		last = n
		time.Sleep(500 * time.Millisecond)
	}
}
