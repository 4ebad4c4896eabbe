// Command whipingest is a WHIP endpoint for camd's push tests
// (stream/whip/whiptest in a process of its own, so a test can kill it
// as a media server dies): it accepts publishers that send the token,
// writes the H.264 it receives to a file (Annex-B) and serves its counters
// on GET /stats.
//
//	whipingest -listen 127.0.0.1:8889 -token s3cret -out push.h264
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/camd-project/camd/stream/whip/whiptest"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "HTTP address")
	token := flag.String("token", "", "Bearer token publishers must send")
	remb := flag.Int("remb", 0, "REMB to send in bits per second (0: none)")
	out := flag.String("out", "", "file for the received H.264 (Annex-B)")
	flag.Parse()
	if err := run(*listen, *token, *remb, *out); err != nil {
		fmt.Fprintln(os.Stderr, "whipingest:", err)
		os.Exit(1)
	}
}

func run(listen, token string, remb int, out string) error {
	var f *os.File
	if out != "" {
		var err error
		if f, err = os.Create(out); err != nil {
			return err
		}
		defer f.Close()
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	var g *whiptest.Ingest
	if f != nil {
		g = whiptest.New(token, remb, f)
	} else {
		g = whiptest.New(token, remb, nil)
	}
	return http.Serve(ln, g)
}
