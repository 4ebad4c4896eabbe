package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/camd-project/camd/config"
)

// checkRTSP checks that the RTSP server's ports are free: TCP rtsp.port,
// and UDP rtsp.udp_port and the next one when RTP over UDP is on.
func checkRTSP(c config.RTSP, running string) result {
	if !c.Enabled {
		return result{level: levelInfo, what: "rtsp", detail: "off (rtsp.enabled = false)"}
	}
	ports := "TCP " + strconv.Itoa(c.Port)
	var problems []string
	if ln, err := net.Listen("tcp", ":"+strconv.Itoa(c.Port)); err != nil {
		problems = append(problems, err.Error())
	} else {
		ln.Close()
	}
	if c.UDPPort > 0 {
		ports += fmt.Sprintf(", UDP %d-%d", c.UDPPort, c.UDPPort+1)
		for _, p := range []int{c.UDPPort, c.UDPPort + 1} {
			if pc, err := net.ListenPacket("udp", ":"+strconv.Itoa(p)); err != nil {
				problems = append(problems, err.Error())
			} else {
				pc.Close()
			}
		}
	}
	switch {
	case len(problems) == 0:
		return result{level: levelOK, what: "rtsp", detail: ports + " free: players and NVRs read rtsp://<this host>:" + strconv.Itoa(c.Port) + "/" + strings.Trim(c.Path, "/")}
	case running != "":
		return result{level: levelInfo, what: "rtsp", detail: ports + " held by the running camd"}
	}
	return result{level: levelFail, what: "rtsp", detail: "cannot use " + ports + ": " + strings.Join(problems, "; "),
		fix: "another program has the port (`ss -ltunp` shows which): set rtsp.port and rtsp.udp_port to free ones, or rtsp.enabled = false"}
}
