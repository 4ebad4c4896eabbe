package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camd-project/camd/config"
	"github.com/camd-project/camd/scripts/harness"
	"github.com/camd-project/camd/stream/auth"
)

// waitToken waits for camd to have written its token in dir.
func waitToken(t *testing.T, dir string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tok, err := auth.Load(dir)
		if err == nil {
			return tok
		}
		if time.Now().After(deadline) {
			t.Fatalf("no token in %s: %v", dir, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testConfig is a small pattern camd on loopback with its state in a
// temporary directory.
func testConfig(t *testing.T, sets map[string]string) *config.Config {
	t.Helper()
	cfg := config.Default()
	all := map[string]string{"source.kind": "pattern", "source.width": "320", "source.height": "240",
		"encoder.bitrate": "500kbps", "mdns.enabled": "false", "webrtc.udp_port": "0", "state_dir": t.TempDir(),
		"rtsp.enabled": "false"}
	for k, v := range sets {
		all[k] = v
	}
	for k, v := range all {
		if err := cfg.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startRun runs camd in-process on a loopback port until the test ends.
func startRun(t *testing.T, cfg *config.Config) (addr string, logs *harness.SyncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs = &harness.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runOn(ctx, cfg, log, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return ln.Addr().String(), logs
}

// selfSigned writes a certificate for 127.0.0.1 and its key, PEM, and
// returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "camd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return cert, key, pool
}

func getWith(t *testing.T, client *http.Client, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestFirstStartMakesTokenAndLogsLinkOnce: the first start makes a 0600
// token file and logs the link with it; the second start keeps the token
// and does not log it.
func TestFirstStartMakesTokenAndLogsLinkOnce(t *testing.T) {
	cfg := testConfig(t, nil)
	addr, logs := startRun(t, cfg)
	tok := waitToken(t, cfg.StateDir)
	info, err := os.Stat(filepath.Join(cfg.StateDir, "token"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v mode %v, want 0600", err, info.Mode().Perm())
	}
	c := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "camd is running") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if want := "http://" + addr + "/#token=" + tok; !strings.Contains(logs.String(), want) {
		t.Fatalf("the first start did not log the link %s:\n%s", want, logs.String())
	}
	if n := strings.Count(logs.String(), tok); n != 1 {
		t.Errorf("the token is in the log %d times, want once", n)
	}
	if code := getWith(t, c, "http://"+addr+"/api/status", ""); code != 401 {
		t.Errorf("/api/status without the token: %d, want 401", code)
	}
	if code := getWith(t, c, "http://"+addr+"/api/status", tok); code != 200 {
		t.Errorf("/api/status with the token: %d, want 200", code)
	}

	// A second camd on the same state directory: same token, no link.
	cfg2 := testConfig(t, map[string]string{"state_dir": cfg.StateDir})
	addr2, logs2 := startRun(t, cfg2)
	for !strings.Contains(logs2.String(), "camd is running") && time.Now().Before(deadline.Add(10*time.Second)) {
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(logs2.String(), tok) || strings.Contains(logs2.String(), "#token=") {
		t.Errorf("the second start logged the token:\n%s", logs2.String())
	}
	if code := getWith(t, c, "http://"+addr2+"/api/status", tok); code != 200 {
		t.Errorf("second camd with the first token: %d, want 200", code)
	}
}

// TestConfiguredToken: auth.token (CAMD_AUTH_TOKEN) replaces the file.
func TestConfiguredToken(t *testing.T) {
	const tok = "fleet-token-0123456789abcdefghij"
	cfg := testConfig(t, map[string]string{"auth.token": tok})
	addr, logs := startRun(t, cfg)
	c := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for getWith(t, c, "http://"+addr+"/api/status", tok) != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("the configured token is not accepted:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, "token")); err == nil {
		t.Error("camd made a token file although auth.token was set")
	}
	if strings.Contains(logs.String(), tok) {
		t.Errorf("the configured token went to the log:\n%s", logs.String())
	}
}

// TestTLS serves HTTPS with a self-signed certificate made here.
func TestTLS(t *testing.T) {
	cert, key, pool := selfSigned(t, t.TempDir())
	cfg := testConfig(t, map[string]string{"tls.cert": cert, "tls.key": key})
	addr, logs := startRun(t, cfg)
	tok := waitToken(t, cfg.StateDir)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "https://"+addr+"/api/status", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("HTTPS /api/status with the token: %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("HTTPS: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := getWith(t, c, "https://"+addr+"/api/status", ""); code != 401 {
		t.Errorf("HTTPS without the token: %d, want 401", code)
	}
	if !strings.Contains(logs.String(), "https://"+addr+"/#token="+tok) {
		t.Errorf("the log does not give the https link:\n%s", logs.String())
	}
	// Plain HTTP on the HTTPS port gets nowhere.
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/healthz"); err == nil {
		if resp.StatusCode == 200 {
			t.Error("plain HTTP was served on the HTTPS port")
		}
		resp.Body.Close()
	}
}

// TestTLSBadFiles: check-config and a start name the key and say what is
// wrong with the file.
func TestTLSBadFiles(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := selfSigned(t, dir)
	otherCert, _, _ := selfSigned(t, t.TempDir()) // a certificate for another key
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "unreadable.pem")
	if err := os.WriteFile(unreadable, []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, cert, key, want string }{
		{"missing cert", filepath.Join(dir, "nope.pem"), key, "tls.cert: cannot read " + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
		{"missing key", cert, filepath.Join(dir, "nope.key"), "tls.key: cannot read"},
		{"not PEM", garbage, key, "tls.cert: " + garbage + " is not a PEM file"},
		{"key does not match", otherCert, key, "tls.cert, tls.key: " + otherCert + " and " + key + ": tls: private key does not match public key"},
	}
	if os.Geteuid() != 0 { // root reads anything
		cases = append(cases, struct{ name, cert, key, want string }{"unreadable", unreadable, key, "tls.cert: cannot read " + unreadable + ": permission denied"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "camd.toml")
			toml := "[tls]\ncert = \"" + tc.cert + "\"\nkey = \"" + tc.key + "\"\n"
			if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			if code := realMain([]string{"check-config", path}, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("check-config: exit %d, stderr %q; want 2 and %q", code, errb.String(), tc.want)
			}
			cfg := testConfig(t, map[string]string{"tls.cert": tc.cert, "tls.key": tc.key})
			if err := run(context.Background(), cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("start: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestTokenCommand: `camd token` makes the token if needed and prints the
// link; again, the same link; -new prints a fresh token and keeps the file.
func TestTokenCommand(t *testing.T) {
	state := t.TempDir()
	args := []string{"token", "-set", "state_dir=" + state, "-set", "mdns.enabled=false", "-listen", "127.0.0.1:8080"}
	var out, errb bytes.Buffer
	if code := realMain(args, &out, &errb); code != 0 {
		t.Fatalf("camd token: exit %d: %s", code, errb.String())
	}
	tok, err := auth.Load(state)
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://127.0.0.1:8080/#token=" + tok + "\n"; out.String() != want {
		t.Errorf("camd token printed %q, want %q", out.String(), want)
	}
	if !strings.Contains(errb.String(), "made a new token") {
		t.Errorf("stderr %q does not say a token was made", errb.String())
	}
	first := out.String()
	out.Reset()
	errb.Reset()
	if code := realMain(args, &out, &errb); code != 0 || out.String() != first || strings.Contains(errb.String(), "made a new") {
		t.Errorf("second camd token: exit %d, %q (%s); want the same link", code, out.String(), errb.String())
	}
	out.Reset()
	if code := realMain([]string{"token", "-new"}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	fresh := strings.TrimSpace(out.String())
	if auth.CheckToken(fresh) != nil || fresh == tok {
		t.Errorf("camd token -new printed %q", fresh)
	}
	if again, _ := auth.Load(state); again != tok {
		t.Error("camd token -new changed the token file")
	}
	// With mDNS on, the .local name comes first.
	out.Reset()
	if code := realMain([]string{"token", "-set", "state_dir=" + state, "-name", "porch", "-listen", "127.0.0.1:9000"}, &out, &errb); code != 0 ||
		!strings.HasPrefix(out.String(), "http://porch.local:9000/#token="+tok+"\n") {
		t.Errorf("camd token with mDNS: exit %d, %q", code, out.String())
	}
}

func TestStateDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg := config.Default()
	if os.Geteuid() == 0 {
		if d, _ := stateDir(cfg, env(nil)); d != "/var/lib/camd" {
			t.Errorf("root: %q, want /var/lib/camd", d)
		}
	} else {
		if d, _ := stateDir(cfg, env(map[string]string{"XDG_STATE_HOME": "/x/state", "HOME": "/home/u"})); d != "/x/state/camd" && d != "/var/lib/camd" {
			t.Errorf("XDG_STATE_HOME: %q", d)
		}
	}
	if d, _ := stateDir(cfg, env(map[string]string{"STATE_DIRECTORY": "/var/lib/camd:/var/lib/other"})); d != "/var/lib/camd" {
		t.Errorf("STATE_DIRECTORY: %q", d)
	}
	cfg.StateDir = "/srv/camd"
	if d, _ := stateDir(cfg, env(map[string]string{"STATE_DIRECTORY": "/var/lib/camd"})); d != "/srv/camd" {
		t.Errorf("state_dir: %q, want it to win", d)
	}
}

// TestSelftestSeesRunningCamdBehindAuth: selftest tells a running camd
// from a foreign program on its port, with the token or without.
func TestSelftestSeesRunningCamdBehindAuth(t *testing.T) {
	cfg := testConfig(t, map[string]string{"name": "porch"})
	addr, _ := startRun(t, cfg)
	tok := waitToken(t, cfg.StateDir)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, running := checkListen(addr, tok)
		if running == "porch (camd dev)" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with the token: running %q, want porch (camd dev)", running)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res, _, running := checkListen(addr, ""); running == "" || res.level != levelInfo {
		t.Errorf("without the token: %v %q, want it recognised as a camd", res, running)
	}
}

// TestCheckConfigAuth: check-config says who may watch and steer and never
// prints a configured token.
func TestCheckConfigAuth(t *testing.T) {
	const tok, whipTok = "fleet-token-0123456789abcdefghij", "ingest-secret-42"
	path := filepath.Join(t.TempDir(), "camd.toml")
	text := "[auth]\nview = \"open\"\ntoken = \"" + tok + "\"\n[whip]\nurl = \"http://ingest.example/whip\"\ntoken = \"" + whipTok + "\"\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := realMain([]string{"check-config", path}, &out, &errb); code != 0 {
		t.Fatalf("check-config: exit %d: %s", code, errb.String())
	}
	if strings.Contains(out.String(), tok) || strings.Contains(out.String(), whipTok) {
		t.Errorf("check-config printed a token:\n%s", out.String())
	}
	for _, want := range []string{"# auth: anyone may watch; steering needs the access token (from auth.token)", `token = "(set; hidden)"`, `view = "open"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check-config output lacks %q:\n%s", want, out.String())
		}
	}
}
