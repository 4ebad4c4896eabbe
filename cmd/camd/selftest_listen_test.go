package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/camd-project/camd/config"
	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream"
)

// A camd already on the port is recognised by its /api/status, read with
// the plain HTTP/1.0 GET selftest uses.
func TestCheckListenFindsRunningCamd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/status" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(stream.Status{Name: "porch", Version: "1.2"})
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	res, port, running := checkListen(ln.Addr().String(), "")
	if running != "porch (camd 1.2)" || res.level != levelInfo || port != ln.Addr().(*net.TCPAddr).Port {
		t.Fatalf("checkListen = %+v, %d, %q; want the running camd", res, port, running)
	}
	if _, ok := camdStatus(ln.Addr().String(), "/nothing", ""); ok {
		t.Fatal("a 404 was taken for a camd")
	}

	// Something else on the port: a failure with a fix.
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	go func() {
		c, err := other.Accept()
		if err == nil {
			_, _ = c.Write([]byte("SSH-2.0-x\r\n"))
			c.Close()
		}
	}()
	res, _, running = checkListen(other.Addr().String(), "")
	if running != "" || res.level != levelFail || !strings.Contains(res.fix, "another program") {
		t.Fatalf("checkListen = %+v, %q; want a failure", res, running)
	}
}

func TestCheckRTSP(t *testing.T) {
	busy, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	free, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	udp, err := harness.FreeUDPPair()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cfg     config.RTSP
		running string
		level   level
		detail  string
	}{
		{config.RTSP{Enabled: false}, "", levelInfo, "off"},
		{config.RTSP{Enabled: true, Port: free, UDPPort: udp, Path: "camd"}, "", levelOK, fmt.Sprintf("UDP %d-%d free: players and NVRs read rtsp://<this host>:%d/camd", udp, udp+1, free)},
		{config.RTSP{Enabled: true, Port: port, Path: "camd"}, "", levelFail, "cannot use TCP"},
		{config.RTSP{Enabled: true, Port: port, Path: "camd"}, "porch (camd 1.2)", levelInfo, "held by the running camd"},
	}
	for _, c := range cases {
		r := checkRTSP(c.cfg, c.running)
		if r.level != c.level || !strings.Contains(r.detail, c.detail) {
			t.Errorf("checkRTSP(%+v, %q) = %+v, want %v with %q", c.cfg, c.running, r, c.level, c.detail)
		}
	}
}
