//go:build camdpprof

package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // the profiling endpoints, only in this build
	"os"
)

// A build with -tags camdpprof (benchmarks, never a release: TestDepsPureGo
// keeps net/http/pprof out of the normal build) serves net/http/pprof on
// the address in CAMD_TEST_PPROF, apart from camd's own listener.
func init() {
	addr := os.Getenv("CAMD_TEST_PPROF")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "camd: CAMD_TEST_PPROF:", err)
		os.Exit(2)
	}
	go func() { _ = http.Serve(ln, nil) }()
}
