package rtsp

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// trackControl names the one track, relative to the Content-Base (the
// stream's URL): what gortsplib and most cameras use.
const trackControl = "trackID=0"

// sdp describes the stream (RFC 4566, RFC 6184 section 8.2.1): one H.264
// track in packetization mode 1, with the parameter sets when they are
// known. Players take them from the stream otherwise: every keyframe
// carries them.
func sdp(sps, pps []byte) []byte {
	fmtp := "packetization-mode=1"
	if len(sps) >= 4 && len(pps) > 0 {
		fmtp += fmt.Sprintf(";profile-level-id=%02x%02x%02x;sprop-parameter-sets=%s,%s",
			sps[1], sps[2], sps[3], base64.StdEncoding.EncodeToString(sps), base64.StdEncoding.EncodeToString(pps))
	}
	lines := []string{
		"v=0",
		"o=- 0 0 IN IP4 0.0.0.0",
		"s=camd",
		"c=IN IP4 0.0.0.0",
		"t=0 0",
		"a=control:*",
		"a=range:npt=now-",
		"m=video 0 RTP/AVP 96",
		"a=rtpmap:96 H264/90000",
		"a=fmtp:96 " + fmtp,
		"a=control:" + trackControl,
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}
