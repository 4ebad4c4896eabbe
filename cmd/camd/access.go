package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/camd-project/camd/config"
	"github.com/camd-project/camd/stream/auth"
)

// serviceStateDir is the Debian package's StateDirectory (camd.service).
const serviceStateDir = "/var/lib/camd"

// stateDir picks where camd keeps its token: state_dir when set; else
// $STATE_DIRECTORY (set by systemd's StateDirectory= and by the image's
// init script); else /var/lib/camd for root or whoever may write there
// (the service user); else $XDG_STATE_HOME/camd; else ~/.local/state/camd.
func stateDir(cfg *config.Config, env func(string) string) (string, error) {
	if cfg.StateDir != "" {
		return cfg.StateDir, nil
	}
	if d := env("STATE_DIRECTORY"); d != "" {
		// systemd may list several, separated by ':'; camd's is the first.
		d, _, _ = strings.Cut(d, ":")
		return d, nil
	}
	if os.Geteuid() == 0 || writable(serviceStateDir) {
		return serviceStateDir, nil
	}
	if d := env("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "camd"), nil
	}
	home := env("HOME")
	if !filepath.IsAbs(home) {
		return "", errors.New("no state directory: HOME is not set; set state_dir in the config (or -set state_dir=/some/dir)")
	}
	return filepath.Join(home, ".local", "state", "camd"), nil
}

// writable reports whether this process may create files in dir.
func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".camd-probe-*")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	_ = os.Remove(name)
	return true
}

// access is the token and where it came from.
type access struct {
	token   string
	from    string // "auth.token" or the token file's path
	created bool   // made by this call
}

// loadAccess returns the configured token, or the one kept in the state
// directory, made on first use.
func loadAccess(cfg *config.Config, env func(string) string) (access, error) {
	if cfg.Auth.Token != "" {
		return access{token: cfg.Auth.Token, from: "auth.token"}, nil
	}
	dir, err := stateDir(cfg, env)
	if err != nil {
		return access{}, err
	}
	tok, created, err := auth.LoadOrCreate(dir)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) && dir == serviceStateDir {
			err = fmt.Errorf("%w\n(the camd service keeps its token there; run this as root or as the camd user: sudo camd token)", err)
		}
		return access{}, err
	}
	path := filepath.Join(dir, auth.FileName)
	if created {
		chownLikeDir(path, dir)
	}
	return access{token: tok, from: path, created: created}, nil
}

// existingToken is the token camd would use, if there is one and this
// process may read it; it never makes one.
func existingToken(cfg *config.Config) string {
	if cfg.Auth.Token != "" {
		return cfg.Auth.Token
	}
	dir, err := stateDir(cfg, os.Getenv)
	if err != nil {
		return ""
	}
	tok, _ := auth.Load(dir)
	return tok
}

// chownLikeDir gives a file that root made in a service's directory to the
// directory's owner, so `sudo camd token` on a fresh install makes a token
// the camd service can read.
func chownLikeDir(path, dir string) {
	if os.Geteuid() != 0 {
		return
	}
	info, err := os.Stat(dir)
	if err != nil {
		return
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
		_ = os.Chown(path, int(st.Uid), int(st.Gid))
	}
}

// newGuard builds the HTTP guard for the config.
func newGuard(cfg *config.Config, token string, log *slog.Logger) *auth.Guard {
	return auth.New(auth.Options{Token: token, OpenView: cfg.Auth.View == "open", Logger: log.With("component", "auth")})
}

// loadTLS reads the configured certificate and key; nil without [tls].
// Its errors name the key and say what is wrong with the file.
func loadTLS(cfg *config.Config) (*tls.Config, error) {
	if cfg.TLS.Cert == "" && cfg.TLS.Key == "" {
		return nil, nil
	}
	for _, f := range []struct{ key, path, block string }{
		{"tls.cert", cfg.TLS.Cert, "CERTIFICATE"},
		{"tls.key", cfg.TLS.Key, "PRIVATE KEY"},
	} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot read %s: %w", f.key, f.path, errors.Unwrap(err))
		}
		if blk, _ := pem.Decode(b); blk == nil {
			return nil, fmt.Errorf("%s: %s is not a PEM file (want a %s block)", f.key, f.path, f.block)
		}
	}
	pair, err := tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
	if err != nil {
		return nil, fmt.Errorf("tls.cert, tls.key: %s and %s: %w", cfg.TLS.Cert, cfg.TLS.Key, err)
	}
	if pair.Leaf == nil && len(pair.Certificate) > 0 {
		pair.Leaf, _ = x509.ParseCertificate(pair.Certificate[0])
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// scheme is http or https, as the config serves.
func scheme(cfg *config.Config) string {
	if cfg.TLS.Cert != "" {
		return "https"
	}
	return "http"
}

// withToken adds the access token to a page URL, in the fragment, which
// browsers keep to themselves.
func withToken(url, token string) string {
	if token == "" {
		return url
	}
	return url + "#token=" + token
}

// pageURLs lists the page's URLs for a person: <name>.local when mDNS is
// on, then the listen address, or every interface's when it listens on all.
func pageURLs(cfg *config.Config, port int) []string {
	s := scheme(cfg)
	host, _, _ := net.SplitHostPort(cfg.Listen)
	p := strconv.Itoa(port)
	var list []string
	if cfg.MDNS.Enabled {
		list = append(list, s+"://"+net.JoinHostPort(cfg.Name+".local", p)+"/")
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return append(list, s+"://"+net.JoinHostPort(host, p)+"/")
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return list
	}
	for _, ifi := range ifaces {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && (n.IP.To4() != nil || n.IP.IsGlobalUnicast()) {
				list = append(list, s+"://"+net.JoinHostPort(n.IP.String(), p)+"/")
			}
		}
	}
	return list
}
