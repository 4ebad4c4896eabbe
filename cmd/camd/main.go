// Command camd turns a Linux board with a camera into a WebRTC camera that
// any browser on the LAN can watch: it captures, encodes H.264 once, and
// serves a WHEP endpoint and a small page.
//
// Usage:
//
//	camd [flags]                 run the camera
//	camd check-config FILE       validate a config file and print the result
//	camd token [-new]            print the page's URL with the access token
//	camd devices [-json]         list cameras, encoders and serial ports
//	camd version                 print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/camd-project/camd/config"
)

// version is set at link time (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain runs camd and returns the process exit code: 0 on success, 1 on
// a runtime failure, 2 on a usage or config error.
func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "check-config":
			return checkConfig(args[1:], stdout, stderr)
		case "selftest":
			return selftest(args[1:], stdout, stderr)
		case "token":
			return tokenCmd(args[1:], stdout, stderr)
		case "devices":
			return devices(args[1:], stdout, stderr)
		case "version":
			fmt.Fprintln(stdout, "camd", version)
			return 0
		case "help", "-h", "-help", "--help":
			usage(stderr, newFlags(io.Discard))
			return 0
		}
	}
	fl := newFlags(stderr)
	if err := fl.fs.Parse(args); err != nil {
		return 2
	}
	if fl.fs.NArg() > 0 {
		fmt.Fprintf(stderr, "camd: unknown command %q\n\n", fl.fs.Arg(0))
		usage(stderr, fl)
		return 2
	}
	cfg, err := fl.load(os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "camd: %v\n", err)
		return 2
	}
	log := newLogger(stderr, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("camd stopped", "err", err)
		return 1
	}
	return 0
}

func usage(w io.Writer, fl *flags) {
	fmt.Fprint(w, `camd turns this machine's camera into a WebRTC camera for any browser.

Usage:
  camd [flags]               run (with no camera: a live test pattern)
  camd check-config FILE     check a config file; print it with defaults
  camd devices [-json]       list cameras, hardware encoders and serial ports
  camd selftest              check this machine: cameras, encoder, mDNS, permissions
  camd token [-new]          print the page's link with its access token
  camd version               print the version

Flags:
`)
	fl.fs.SetOutput(w)
	fl.fs.PrintDefaults()
	fmt.Fprint(w, `
Every config key can also be set as CAMD_<KEY> or CAMD_<SECTION>_<KEY>
(e.g. CAMD_LISTEN=:9000, CAMD_ENCODER_BITRATE=1Mbps). Order: defaults,
file, environment, flags.
`)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by config
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// checkConfig validates FILE and prints the effective config, or every
// problem found; exit code 2 when there are problems.
func checkConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: camd check-config FILE")
		return 2
	}
	cfg, err := loadAndValidate(fs.Arg(0), os.Environ(), nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if _, err := loadTLS(cfg); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	fmt.Fprintf(stdout, "# %s: ok\n", fs.Arg(0))
	fmt.Fprintf(stdout, "# auth: %s\n", authSummary(cfg))
	shown := *cfg
	// Secrets do not go to a terminal or a bug report.
	for _, secret := range []*string{&shown.Auth.Token, &shown.WHIP.Token} {
		if *secret != "" {
			*secret = "(set; hidden)"
		}
	}
	_, _ = stdout.Write(shown.TOML())
	return 0
}

// authSummary is one line on who may watch and steer.
func authSummary(cfg *config.Config) string {
	s := "watching and steering need the access token"
	if cfg.Auth.View == "open" {
		s = "anyone may watch; steering needs the access token"
	}
	if cfg.Auth.Token != "" {
		s += " (from auth.token)"
	} else {
		s += " (kept in state_dir; `camd token` prints the link)"
	}
	if cfg.TLS.Cert != "" {
		s += "; HTTPS"
	}
	return s
}
