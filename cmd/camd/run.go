package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/camd-project/camd/config"
	"github.com/camd-project/camd/encode"
	"github.com/camd-project/camd/stream"
	"github.com/camd-project/camd/stream/mdns"
	"github.com/camd-project/camd/stream/rtsp"
	"github.com/camd-project/camd/stream/whip"
)

// iceServers turns config URLs ("stun:host:port", "turn:user:pass@host:port")
// into pion's form.
func iceServers(urls []string) []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, u := range urls {
		s := webrtc.ICEServer{URLs: []string{u}}
		if scheme, rest, ok := strings.Cut(u, ":"); ok && strings.HasPrefix(scheme, "turn") {
			if cred, host, ok := strings.Cut(rest, "@"); ok {
				user, pass, _ := strings.Cut(cred, ":")
				s = webrtc.ICEServer{URLs: []string{scheme + ":" + host}, Username: user, Credential: pass}
			}
		}
		out = append(out, s)
	}
	return out
}

// run wires source → encoder → hub → server and runs until ctx ends. The
// shutdown order is the reverse: viewers and HTTP first, then the pipeline,
// then the encoder.
func run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	// Certificate problems stop camd before it listens: a camera that
	// silently fell back to HTTP would send its token in clear.
	if _, err := loadTLS(cfg); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another camd running? set listen or -listen)", cfg.Listen, err)
	}
	return runOn(ctx, cfg, log, ln)
}

// runOn is run on a listener the caller opened; it closes ln.
func runOn(ctx context.Context, cfg *config.Config, log *slog.Logger, ln net.Listener) error {
	defer ln.Close()
	tlsConf, err := loadTLS(cfg)
	if err != nil {
		return err
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	acc, err := loadAccess(cfg, os.Getenv)
	if err != nil {
		return err
	}
	hw, err := newHardware(ctx, cfg, log)
	if err != nil {
		return err
	}
	hwCtx, stopHW := context.WithCancel(context.Background())
	hwDone := make(chan struct{})
	go func() { defer close(hwDone); hw.run(hwCtx, log) }()
	// Last to stop: a flying drone lands before camd exits.
	defer func() { stopHW(); <-hwDone }()

	src, err := newSource(ctx, cfg.Source, hw, log)
	if err != nil {
		return err
	}
	info := src.Info()
	// A broken encoder is rebuilt by the pipeline; the viewers stay.
	enc, err := encode.NewRestartable(func() (encode.Encoder, error) { return buildEncoder(cfg.Encoder, info, log) })
	if err != nil {
		return err
	}
	defer func() {
		if err := enc.Close(); err != nil {
			log.Warn("encoder close", "err", err)
		}
	}()

	hub := stream.NewHub(stream.HubOptions{
		Keyframes:        enc,
		KeyframeInterval: time.Duration(cfg.WebRTC.KeyframeMinInterval),
		Logger:           log,
	})
	defer hub.Close()

	pipe := &encode.Pipeline{
		Source:  src,
		Encoder: enc,
		Out:     func(au encode.AccessUnit) { hub.Write(au.Data, au.Keyframe, au.Time, au.Seq) },
		Logger:  log,
	}
	httpPort := 0
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		httpPort = a.Port
	}
	var responder *mdns.Responder
	if cfg.MDNS.Enabled {
		responder, err = mdns.New(mdns.Options{
			Name:       cfg.Name,
			Port:       httpPort,
			Interfaces: cfg.MDNS.Interfaces,
			TXT:        map[string]string{"version": version},
			Logger:     log.With("component", "mdns"),
		})
		if err != nil {
			return fmt.Errorf("mdns: %w", err)
		}
	}
	keys, err := openKeyLog(cfg.Debug.KeylogFile, log)
	if err != nil {
		return err
	}
	var keyWriter io.Writer
	if keys != nil {
		defer keys.Close()
		keyWriter = keys
	}
	// RTSP players read the same hub as WebRTC viewers.
	var rtspSrv *rtsp.Server
	if cfg.RTSP.Enabled {
		rtspSrv = rtsp.New(hub, rtsp.Options{
			Addr:    net.JoinHostPort(listenHost(ln.Addr()), fmt.Sprint(cfg.RTSP.Port)),
			UDPPort: cfg.RTSP.UDPPort,
			UDPHost: listenHost(ln.Addr()),
			Path:    cfg.RTSP.Path,
			// As for WHEP: the access token, unless viewing is open.
			Password: rtspPassword(cfg, acc.token),
			Logger:   log.With("component", "rtsp"),
		})
		if err := rtspSrv.Start(); err != nil {
			return err
		}
		log.Info("serving RTSP", "url", rtspSrv.URL(), "udp", cfg.RTSP.UDPPort != 0)
	}
	// The viewers' networks steer the encoder unless adaptation is off.
	var bitrate stream.BitrateSetter
	if cfg.Encoder.Adaptive {
		bitrate = enc
	}
	var push *whip.Publisher // nil without whip.url
	srv, err := stream.NewServer(hub, stream.Options{
		Bitrate: bitrate,
		Policy: stream.PolicyOptions{
			Floor:       int(cfg.Encoder.MinBitrate),
			Ceiling:     int(cfg.Encoder.MaxBitrate),
			Initial:     int(cfg.Encoder.Bitrate),
			UpHold:      time.Duration(cfg.Encoder.AdaptUpHold),
			MinInterval: time.Duration(cfg.Encoder.AdaptInterval),
		},
		ICEServers:      iceServers(cfg.WebRTC.ICEServers),
		MaxViewers:      cfg.WebRTC.MaxViewers,
		IncludeLoopback: true,
		UDPPort:         cfg.WebRTC.UDPPort,
		PublicIPs:       cfg.WebRTC.PublicIPs,
		Interfaces:      cfg.WebRTC.Interfaces,
		Control:         hw.router,
		Auth:            newGuard(cfg, acc.token, log),
		Peers: func() any {
			if responder == nil {
				return []mdns.Peer{}
			}
			return responder.Peers()
		},
		KeyLog: keyWriter,
		Logger: log,
		Snapshot: func(ctx context.Context) ([]byte, error) {
			s, err := pipe.Snapshot(ctx)
			return s.JPEG, err
		},
		Status: func() stream.Status {
			ps := pipe.Stats()
			st := stream.Status{
				Name:    cfg.Name,
				Version: version,
				Camera:  cameraState(src),
				Source: stream.SourceStatus{
					Name: info.Name, Format: info.Format.String(), Width: info.Width, Height: info.Height,
					FPS: info.FPS, Dropped: ps.Dropped,
				},
				Encoder: stream.EncoderStatus{Name: enc.Name(), Bitrate: int(cfg.Encoder.Bitrate), Errors: ps.Errors, Restarts: ps.Restarts},
				RTSP:    rtspStatus(rtspSrv),
			}
			if push != nil {
				p := push.Status()
				st.Push = &p
			}
			return st
		},
	})
	if err != nil {
		if rtspSrv != nil {
			rtspSrv.Close()
		}
		return err
	}
	if cfg.WHIP.URL != "" {
		push, err = whip.New(srv, whip.Options{
			URL:        cfg.WHIP.URL,
			Token:      cfg.WHIP.Token,
			BackoffMin: time.Duration(cfg.WHIP.BackoffMin),
			BackoffMax: time.Duration(cfg.WHIP.BackoffMax),
			ICEServers: iceServers(cfg.WebRTC.ICEServers),
			Logger:     log,
		})
		if err != nil {
			srv.Close()
			if rtspSrv != nil {
				rtspSrv.Close()
			}
			return err
		}
	}
	mdnsURL := fmt.Sprintf("%s://%s.local:%d/", scheme(cfg), cfg.Name, httpPort)
	if responder != nil {
		log.Info("announcing on the LAN with mDNS", "url", mdnsURL)
	}
	log.Info("camd is running",
		"source", info.Name, "size", fmt.Sprintf("%dx%d", info.Width, info.Height), "fps", info.FPS,
		"encoder", enc.Name(), "url", pageURL(ln.Addr(), scheme(cfg)), "auth", authSummary(cfg), "token", acc.from)
	if acc.created {
		// The one time the link goes to the log: the token was just made.
		link := pageURL(ln.Addr(), scheme(cfg))
		if responder != nil {
			link = mdnsURL
		}
		log.Info("new access token; open the camera with this link (shown once; `camd token` prints it again)",
			"url", withToken(link, acc.token))
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pipeErr := make(chan error, 1)
	go func() { pipeErr <- pipe.Run(ctx) }()
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ctx, ln) }()
	rtspErr := make(chan error, 1)
	go func() {
		if rtspSrv == nil {
			<-ctx.Done()
			rtspErr <- nil
			return
		}
		rtspErr <- rtspSrv.Run(ctx)
	}()
	pushDone := make(chan struct{})
	go func() {
		defer close(pushDone)
		if push != nil {
			_ = push.Run(ctx) // retries until ctx ends; failures are logged
		}
	}()
	mdnsDone := make(chan struct{})
	go func() {
		defer close(mdnsDone)
		if responder == nil {
			return
		}
		// mDNS is a convenience: without it camd still serves by address.
		if err := responder.Run(ctx); err != nil {
			log.Warn("mDNS responder stopped; camd is reachable by address only", "err", err)
		}
	}()

	var first error
	select {
	case <-ctx.Done():
	case err := <-pipeErr:
		first = fmt.Errorf("pipeline: %w", err)
		pipeErr <- nil
	case err := <-srvErr:
		first = fmt.Errorf("http: %w", err)
		srvErr <- nil
	case err := <-rtspErr:
		first = err
		rtspErr <- nil
	}
	log.Info("shutting down")
	cancel()
	if err := <-rtspErr; err != nil && first == nil {
		first = err
	}
	if err := <-srvErr; err != nil && first == nil {
		first = err
	}
	if err := <-pipeErr; err != nil && !errors.Is(err, context.Canceled) && first == nil {
		first = err
	}
	<-pushDone // the WHIP resource deleted
	<-mdnsDone // goodbyes sent
	return first
}

// rtspPassword is the RTSP readers' password (any user name): the access
// token, or nil (no authentication) when viewing is open to the LAN.
func rtspPassword(cfg *config.Config, token string) func(string) (string, bool) {
	if cfg.Auth.View == "open" {
		return nil
	}
	return func(string) (string, bool) { return token, true }
}

// rtspStatus reports the RTSP server for /api/status; nil when it is off.
func rtspStatus(s *rtsp.Server) *stream.RTSPStatus {
	if s == nil {
		return nil
	}
	rs := s.Readers()
	return &stream.RTSPStatus{URL: s.URL(), Readers: len(rs), Sessions: rs}
}

// listenHost is the host part of the HTTP listen address ("" for all
// interfaces), so RTSP listens where HTTP does.
func listenHost(a net.Addr) string {
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return ""
	}
	return host
}

// pageURL is the address a person opens; an unspecified host becomes
// localhost so the link works when clicked from the log.
func pageURL(a net.Addr, scheme string) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return scheme + "://" + a.String() + "/"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}
