package e2e

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAccessLinkFromFirstStart is auth as a person meets it, with the real
// defaults: camd makes a token on its first start and logs the link once;
// `camd token` prints the same link; that link plays in a browser, which
// then keeps the token and takes it out of the address bar.
func TestAccessLinkFromFirstStart(t *testing.T) {
	needBrowser(t)
	c := startCamd(t, "-source", "pattern", "-size", "640x480")
	m := regexp.MustCompile(`new access token.*url="?(http://[^"\s]+#token=([A-Za-z0-9_.~-]+))`).FindStringSubmatch(c.Logs())
	if m == nil {
		t.Fatalf("the first start logged no access link:\n%s", c.Logs())
	}
	link, token := m[1], m[2]
	if strings.Count(c.Logs(), token) != 1 {
		t.Errorf("the token is in the log %d times, want once", strings.Count(c.Logs(), token))
	}
	if link != c.PageURL() {
		t.Errorf("logged link %s, want %s", link, c.PageURL())
	}
	// `camd token` on the same state directory prints the same link.
	out, err := exec.Command(camdBin, "token", "-listen", strings.TrimPrefix(c.URL, "http://"),
		"-set", "mdns.enabled=false", "-set", "state_dir="+c.StateDir).Output()
	if err != nil {
		t.Fatalf("camd token: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != link {
		t.Errorf("camd token printed %q, want the logged link %q", got, link)
	}

	b := launch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := openPage(t, ctx, b, link)
	var where struct {
		Hash   string `json:"hash"`
		Stored string `json:"stored"`
	}
	if err := p.Eval(ctx, `({hash: location.hash, stored: localStorage.getItem("camd.token")})`, &where); err != nil {
		t.Fatal(err)
	}
	if where.Hash != "" || where.Stored != token {
		t.Errorf("after load: location.hash %q, stored token set %v; want no fragment and the token kept", where.Hash, where.Stored == token)
	}
	// A reload without the fragment still plays: the page kept the token.
	if err := p.Eval(ctx, `window.beforeReload = true; setTimeout(() => location.reload(), 0)`, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `!window.beforeReload && window.camd && camd.state === "live" && camd.stats.framesDecoded > 0`, 50*time.Millisecond); err != nil {
		t.Fatalf("the page did not play again after a reload without the link: %v", err)
	}
}

// TestPageWithoutTokenIsRefused: a browser that opens the camera without
// its access link gets no video and a message that says what to do.
func TestPageWithoutTokenIsRefused(t *testing.T) {
	needBrowser(t)
	c := startCamd(t, "-source", "pattern", "-size", "640x480")
	b := launch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := b.NewPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, c.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `window.camd && camd.state === "unauthorized"`, 50*time.Millisecond); err != nil {
		t.Fatalf("the page without the token did not say it is unauthorized: %v", err)
	}
	time.Sleep(2 * time.Second) // it must stay that way, without retrying into a picture
	var got struct {
		State   string `json:"state"`
		Banner  string `json:"banner"`
		Visible bool   `json:"visible"`
		Frames  int    `json:"frames"`
		Width   int    `json:"width"`
	}
	if err := p.Eval(ctx, `({state: camd.state, banner: document.getElementById("banner").innerText,
		visible: !document.getElementById("banner").hidden, frames: camd.stats.framesDecoded,
		width: document.getElementById("video").videoWidth})`, &got); err != nil {
		t.Fatal(err)
	}
	if got.State != "unauthorized" || !got.Visible || !strings.Contains(got.Banner, "camd token") {
		t.Errorf("page: state %q, banner %q (visible %v); want the access-link message", got.State, got.Banner, got.Visible)
	}
	if got.Frames != 0 || got.Width != 0 {
		t.Errorf("the page without the token decoded %d frames (%d px wide)", got.Frames, got.Width)
	}
	if n := viewers(t, c); n != 0 {
		t.Errorf("camd counts %d viewers, want none", n)
	}
	if !strings.Contains(c.Logs(), "camd is running") || strings.Contains(c.Logs(), "too many wrong tokens") {
		t.Errorf("a page without a token was counted as guessing:\n%s", c.Logs())
	}
}

// TestOpenViewPlaysWithoutToken: with auth.view = "open" the same browser
// plays without the link.
func TestOpenViewPlaysWithoutToken(t *testing.T) {
	needBrowser(t)
	c := startCamd(t, "-source", "pattern", "-size", "640x480", "-set", "auth.view=open")
	b := launch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	openPage(t, ctx, b, c.URL+"/")
	resp, err := c.Request(ctx, "GET", "/metrics", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/metrics with the token: %d", resp.StatusCode)
	}
}
