package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"github.com/camd-project/camd/stream/auth"
)

// tokenCmd is `camd token`: it prints the page's URLs with the access
// token, making the token first if camd has none yet. With -new it prints
// a fresh random token and changes nothing, for auth.token.
func tokenCmd(args []string, stdout, stderr io.Writer) int {
	fl := newFlags(stderr)
	fresh := fl.fs.Bool("new", false, "print a fresh random token for auth.token and change nothing")
	if err := fl.fs.Parse(args); err != nil {
		return 2
	}
	if fl.fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: camd token [-new] [-config FILE] [camd's flags]")
		return 2
	}
	if *fresh {
		t, err := auth.NewToken()
		if err != nil {
			fmt.Fprintf(stderr, "camd token: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, t)
		return 0
	}
	if *fl.config == "" {
		for _, p := range serviceConfigs {
			if _, err := os.Stat(p); err == nil {
				*fl.config = p
				break
			}
		}
	}
	cfg, err := fl.load(os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "camd token: %v\n", err)
		return 2
	}
	acc, err := loadAccess(cfg, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "camd token: %v\n", err)
		return 1
	}
	_, p, _ := net.SplitHostPort(cfg.Listen)
	port, _ := strconv.Atoi(p)
	for _, u := range pageURLs(cfg, port) {
		fmt.Fprintln(stdout, withToken(u, acc.token))
	}
	note := "the token is in " + acc.from
	if acc.created {
		note = "made a new token in " + acc.from + "; restart a running camd to use it"
	}
	if cfg.Auth.View == "open" {
		note += "; anyone may watch (auth.view = \"open\"), the link also lets its holder steer"
	}
	fmt.Fprintln(stderr, "camd token: "+note+". Keep the link private: it opens the camera.")
	return 0
}
