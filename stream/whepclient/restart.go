package whepclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/pion/webrtc/v4"
)

// RestartICE restarts ICE through a WHEP PATCH (RFC 9725 §4.4.2), as a
// viewer does when its network changes: new local credentials and
// candidates go to the server, and the server's new ones come back. The
// session, its SSRCs and its decoder state stay.
func (c *Client) RestartICE(ctx context.Context) (err error) {
	if u, ok := c.netw.(interface{ UpdateInterfaces() error }); ok {
		if err := u.UpdateInterfaces(); err != nil {
			return fmt.Errorf("whepclient: reading interfaces: %w", err)
		}
	}
	offer, err := c.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return fmt.Errorf("whepclient: CreateOffer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("whepclient: SetLocalDescription: %w", err)
	}
	defer func() {
		if err != nil { // back to stable, so a later restart can try again
			_ = c.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
		}
	}()
	select {
	case <-gathered:
	case <-ctx.Done():
		return ctx.Err()
	}
	frag := iceFragment(c.pc.LocalDescription().SDP)
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, c.resource, bytes.NewBufferString(frag))
	if err != nil {
		return fmt.Errorf("whepclient: %w", err)
	}
	req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
	req.Header.Set("If-Match", "*")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	// The network changed: kept-alive connections may be bound to an
	// address that is gone, so the PATCH goes on a fresh one.
	c.http.CloseIdleConnections()
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("whepclient: PATCH: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("whepclient: reading PATCH answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return &StatusError{Code: resp.StatusCode, Body: string(body)}
	}
	answer, err := applyFragment(c.pc.RemoteDescription().SDP, string(body))
	if err != nil {
		return err
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("whepclient: SetRemoteDescription after ICE restart: %w", err)
	}
	return nil
}

// iceFragment extracts the ICE part of an SDP as an RFC 8840 fragment.
func iceFragment(sdp string) string {
	var out []string
	for _, line := range strings.Split(sdp, "\n") {
		t := strings.TrimSpace(line)
		for _, p := range []string{"a=ice-ufrag:", "a=ice-pwd:", "a=ice-options:", "m=", "a=mid:", "a=candidate:"} {
			if strings.HasPrefix(t, p) {
				out = append(out, t)
			}
		}
	}
	return strings.Join(append(out, "a=end-of-candidates"), "\r\n") + "\r\n"
}

// applyFragment makes the new answer: the previous one with the server's
// new ICE credentials and candidates.
func applyFragment(prev, frag string) (string, error) {
	var ufrag, pwd string
	var cands []string
	for _, line := range strings.Split(frag, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "a=ice-ufrag:"):
			ufrag = t
		case strings.HasPrefix(t, "a=ice-pwd:"):
			pwd = t
		case strings.HasPrefix(t, "a=candidate:"):
			cands = append(cands, t)
		}
	}
	if ufrag == "" || pwd == "" {
		return "", fmt.Errorf("whepclient: ICE restart answer without credentials: %q", frag)
	}
	// Candidates go into the first (BUNDLE-tagged) media section: a
	// browser ignores them in a bundled one.
	var b strings.Builder
	sections := 0
	addCands := func() {
		for _, c := range cands {
			b.WriteString(c + "\r\n")
		}
		b.WriteString("a=end-of-candidates\r\n")
	}
	for _, line := range strings.Split(strings.TrimRight(prev, "\r\n"), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "m=") {
			if sections++; sections == 2 {
				addCands()
			}
		}
		switch {
		case strings.HasPrefix(t, "a=ice-ufrag:"):
			b.WriteString(ufrag + "\r\n")
		case strings.HasPrefix(t, "a=ice-pwd:"):
			b.WriteString(pwd + "\r\n")
		case strings.HasPrefix(t, "a=candidate:"), t == "a=end-of-candidates":
		default:
			b.WriteString(t + "\r\n")
		}
	}
	if sections < 2 {
		addCands()
	}
	return b.String(), nil
}
