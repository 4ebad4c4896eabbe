package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/camd-project/camd/config"
	"github.com/camd-project/camd/encode"
	"github.com/camd-project/camd/internal/httpc"
	"github.com/camd-project/camd/stream"
	"github.com/camd-project/camd/stream/mdns"
)

// serviceConfigs are the configs the camd service reads: the Debian
// package's, then the one on the boot partition of camd's SD card image.
var serviceConfigs = []string{"/etc/camd/camd.toml", "/boot/camd.toml"}

// selftest is `camd selftest`: what a person runs on a fresh board, or
// pastes into a bug report. It lists the cameras and encoders, checks the
// user's groups, runs the configured source through the encoder for a
// while (10 s) and reports the frame rate and encode times, checks the
// HTTP, WebRTC and mDNS ports and prints the URLs camd will serve, and
// says what to do about each problem. It returns 0 when camd can run as
// configured, 1 when something essential is missing, 2 on a usage or
// config error.
func selftest(args []string, stdout, stderr io.Writer) int {
	fl := newFlags(stderr)
	duration := fl.fs.Duration("duration", 10*time.Second, "how long the capture and encode run lasts")
	if err := fl.fs.Parse(args); err != nil {
		return 2
	}
	if fl.fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: camd selftest [-config FILE] [-duration 10s] [camd's flags]")
		return 2
	}
	configNote := *fl.config
	if *fl.config == "" {
		configNote = "built-in defaults"
		for _, p := range serviceConfigs {
			if _, err := os.Stat(p); err == nil {
				*fl.config, configNote = p, p+" (the service's)"
				break
			}
		}
	}
	cfg, err := fl.load(os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "camd selftest: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	r := &report{w: stdout}
	f := gatherFacts(cfg)
	fmt.Fprintf(stdout, "camd selftest: camd %s, %s/%s", version, runtime.GOOS, runtime.GOARCH)
	if f.board != "" {
		fmt.Fprintf(stdout, ", %s", f.board)
	}
	fmt.Fprintf(stdout, "\nconfig: %s\n\n", configNote)
	r.add(checkGroups(f)...)
	r.add(checkCameras(f)...)
	r.add(checkEncoders(f)...)
	r.add(checkSerial(f)...)

	httpRes, port, running := checkListen(cfg.Listen, existingToken(cfg))
	r.add(httpRes)
	r.add(checkUDP(cfg.WebRTC.UDPPort, running))
	r.add(checkRTSP(cfg.RTSP, running))
	if running != "" && cfg.Source.Kind != "pattern" && cfg.Source.Kind != "file" {
		// The service may hold the camera: run the pattern instead.
		r.add(result{level: levelInfo, what: "capture", detail: "a camd is running and may hold the camera: testing the encoder with the test pattern"})
		cfg.Source.Kind = "pattern"
	}
	var mdnsResult func() result
	if running == "" {
		mdnsResult = startMDNS(ctx, cfg, port, log)
	}
	fmt.Fprintf(stdout, "  %-5s %-13s running for %v\n", "..", "capture", *duration)
	r.add(checkPipeline(ctx, cfg, *duration, log))
	switch {
	case !cfg.MDNS.Enabled:
		r.add(result{level: levelInfo, what: "mDNS", detail: "off (mdns.enabled = false): camd is reachable by address only"})
	case running != "":
		r.add(result{level: levelInfo, what: "mDNS", detail: "left to the running camd"})
	default:
		r.add(mdnsResult())
	}
	r.add(urls(cfg, port))
	r.add(checkAuth(cfg))
	return r.summary()
}

// report prints results as they come and counts them.
type report struct {
	w            io.Writer
	fails, warns int
}

func (r *report) add(rs ...result) {
	for _, x := range rs {
		fmt.Fprintf(r.w, "  %-5s %-13s %s\n", x.level, x.what, x.detail)
		if x.fix != "" {
			fmt.Fprintf(r.w, "        %-13s fix: %s\n", "", x.fix)
		}
		switch x.level {
		case levelFail:
			r.fails++
		case levelWarn:
			r.warns++
		}
	}
}

func (r *report) summary() int {
	switch {
	case r.fails > 0:
		fmt.Fprintf(r.w, "\n%d problem(s), %d warning(s): camd will not work as configured until the problems are fixed.\n", r.fails, r.warns)
		return 1
	case r.warns > 0:
		fmt.Fprintf(r.w, "\n%d warning(s): camd works; the warnings say what it is missing.\n", r.warns)
	default:
		fmt.Fprintln(r.w, "\nall good.")
	}
	return 0
}

// checkListen checks that camd can listen on addr, and returns the port
// and, when a camd already serves there, its name and version.
func checkListen(addr, token string) (res result, port int, running string) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		return result{level: levelOK, what: "http", detail: addr + " is free"}, port, ""
	}
	host, p, _ := net.SplitHostPort(addr)
	port, _ = strconv.Atoi(p)
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	if st, ok := camdStatus(net.JoinHostPort(host, p), "/api/status", token); ok {
		running = fmt.Sprintf("%s (camd %s)", st.Name, st.Version)
		return result{level: levelInfo, what: "http", detail: "a camd already serves on " + addr + ": " + running + ", most likely the service"}, port, running
	}
	return result{level: levelFail, what: "http", detail: fmt.Sprintf("cannot listen on %s: %v", addr, err),
		fix: "another program has the port (`ss -ltnp` shows which): stop it, or set listen = \":8081\" in the config"}, port, ""
}

// camdStatus asks a running camd for its status, with its token when this
// process can read it.
func camdStatus(hostport, path, token string) (stream.Status, bool) {
	var st stream.Status
	req, err := http.NewRequest(http.MethodGet, "http://"+hostport+path, nil)
	if err != nil {
		return st, false
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&httpc.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return st, false
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized && strings.Contains(resp.Header.Get("WWW-Authenticate"), `realm="camd"`) {
		// A camd that wants its token: it is camd all the same.
		st.Name, st.Version = "a camd", "? (its token is not readable here)"
		return st, true
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return st, false
	}
	return st, true
}

// checkUDP checks the one UDP port all viewers' media share.
func checkUDP(udpPort int, running string) result {
	if udpPort == 0 {
		return result{level: levelInfo, what: "webrtc", detail: "each viewer gets ephemeral UDP ports (webrtc.udp_port = 0)"}
	}
	c, err := net.ListenPacket("udp", ":"+strconv.Itoa(udpPort))
	switch {
	case err == nil:
		c.Close()
		return result{level: levelOK, what: "webrtc", detail: fmt.Sprintf("UDP %d is free; open it and the HTTP port in a firewall", udpPort)}
	case running != "":
		return result{level: levelInfo, what: "webrtc", detail: fmt.Sprintf("UDP %d is held by the running camd", udpPort)}
	}
	return result{level: levelFail, what: "webrtc", detail: fmt.Sprintf("cannot use UDP %d: %v", udpPort, err),
		fix: "another program has the port (`ss -lunp` shows which), or set webrtc.udp_port to a free one"}
}

// checkPipeline runs the configured source through the encoder for d and
// reports the frame rate it kept and the encode times.
func checkPipeline(ctx context.Context, cfg *config.Config, d time.Duration, log *slog.Logger) result {
	res := result{what: "capture"}
	src, err := newSource(ctx, cfg.Source, &hardware{}, log)
	if err != nil {
		res.level, res.detail = levelFail, fmt.Sprintf("source %s: %v", cfg.Source.Kind, err)
		return res
	}
	info := src.Info()
	enc, err := encode.New(cfg.Encoder.Kind, encode.Options{
		Width: info.Width, Height: info.Height, FPS: info.FPS,
		Bitrate: int(cfg.Encoder.Bitrate), GOP: time.Duration(cfg.Encoder.GOP),
	}, info)
	if err != nil {
		res.level, res.detail = levelFail, fmt.Sprintf("encoder for %s: %v", info.Name, err)
		if errors.Is(err, encode.ErrNoEncoder) || errors.Is(err, encode.ErrNotBuiltIn) {
			res.fix = "see the encoder lines above"
		}
		return res
	}
	defer enc.Close()
	pipe := &encode.Pipeline{Source: src, Encoder: enc, Out: func(encode.AccessUnit) {}, Logger: log}
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	err = pipe.Run(runCtx)
	elapsed := time.Since(start)
	s := pipe.Stats()
	fps := float64(s.Encoded) / elapsed.Seconds()
	res.detail = fmt.Sprintf("%s %dx%d@%g → %s: %.1f fps for %v, encode %v avg %v p99, %.2f Mbit/s, %d keyframes, %d dropped",
		info.Name, info.Width, info.Height, info.FPS, enc.Name(), fps, elapsed.Round(100*time.Millisecond),
		s.AvgEncode.Round(10*time.Microsecond), s.P99Encode.Round(10*time.Microsecond),
		float64(s.Bytes)*8/elapsed.Seconds()/1e6, s.Keyframes, s.Dropped)
	switch {
	case err != nil:
		res.level, res.detail = levelFail, res.detail+": "+err.Error()
	case ctx.Err() != nil:
		res.level, res.detail = levelWarn, res.detail+": interrupted"
	case s.Encoded == 0:
		res.level = levelFail
		res.fix = "nothing came out of the encoder: run camd with -log-level debug to see why"
	case info.FPS > 0 && fps < 0.8*info.FPS:
		res.level = levelWarn
		res.fix = "the encoder cannot keep up: lower source.width, source.height or source.fps, or use the hardware encoder"
	default:
		res.level = levelOK
	}
	return res
}

// startMDNS runs the mDNS responder while the capture test runs, and
// returns a function that reports whether it claimed the name.
func startMDNS(ctx context.Context, cfg *config.Config, port int, log *slog.Logger) func() result {
	if !cfg.MDNS.Enabled {
		return nil
	}
	resp, err := mdns.New(mdns.Options{Name: cfg.Name, Port: port, Interfaces: cfg.MDNS.Interfaces,
		TXT: map[string]string{"version": version}, Logger: log})
	if err != nil {
		return func() result {
			return result{level: levelWarn, what: "mDNS", detail: err.Error(), fix: "check name and mdns.interfaces in the config"}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- resp.Run(ctx) }()
	return func() result {
		claimed, name := resp.Claimed(), resp.Name()
		cancel()
		if err := <-done; err != nil {
			return result{level: levelWarn, what: "mDNS", detail: err.Error(),
				fix: "camd shares UDP 5353 with avahi-daemon; a firewall or another responder that does not share it blocks mDNS. camd still serves by address"}
		}
		switch {
		case !claimed:
			return result{level: levelWarn, what: "mDNS", detail: "port 5353 opened, but probing for " + cfg.Name + ".local did not finish"}
		case name != cfg.Name:
			return result{level: levelWarn, what: "mDNS", detail: cfg.Name + ".local is taken on the LAN; camd would answer as " + name + ".local",
				fix: "give this camera its own name: name = \"…\" in the config"}
		}
		return result{level: levelOK, what: "mDNS", detail: "port 5353 open, " + name + ".local claimed"}
	}
}

// urls lists where a browser finds camd.
func urls(cfg *config.Config, port int) result {
	list := pageURLs(cfg, port)
	if len(list) == 0 {
		return result{level: levelWarn, what: "urls", detail: "no network interface is up", fix: "connect Ethernet, or set up Wi-Fi"}
	}
	return result{level: levelOK, what: "urls", detail: strings.Join(list, " ")}
}

// checkAuth says who may watch and steer, and where the token is, without
// showing it.
func checkAuth(cfg *config.Config) result {
	view := "watching and steering need the access token"
	if cfg.Auth.View == "open" {
		view = "anyone on the network may watch (auth.view = \"open\"); steering needs the access token"
	}
	res := result{level: levelOK, what: "auth", detail: view}
	if cfg.TLS.Cert != "" {
		if _, err := loadTLS(cfg); err != nil {
			return result{level: levelFail, what: "auth", detail: err.Error(), fix: "point tls.cert and tls.key at a readable PEM certificate and its key"}
		}
		res.detail += "; HTTPS with " + cfg.TLS.Cert
	} else {
		res.detail += "; plain HTTP (set tls.cert and tls.key for HTTPS)"
	}
	switch {
	case cfg.Auth.Token != "":
		res.detail += "; token from auth.token"
	default:
		dir, err := stateDir(cfg, os.Getenv)
		if err != nil {
			return result{level: levelFail, what: "auth", detail: err.Error(), fix: "set state_dir"}
		}
		res.detail += "; token in " + filepath.Join(dir, "token") + " (`camd token` prints the link)"
	}
	return res
}
