// Command lanmdns runs one camd mDNS responder for the LAN test in
// scripts/lantest. It writes JSON lines to stdout: "claimed" once its
// names are its own, "peers" whenever the list of other camd instances
// changes, and "stopped" after the goodbyes went out on SIGINT or SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/camd-project/camd/stream/mdns"
)

type event struct {
	Event    string      `json:"event"`
	Name     string      `json:"name,omitempty"`
	Instance string      `json:"instance,omitempty"`
	Peers    []mdns.Peer `json:"peers,omitempty"`
}

func main() {
	name := flag.String("name", "camd", "host name to claim in .local")
	port := flag.Int("port", 8080, "port the services point at")
	instance := flag.String("instance", "", "DNS-SD instance name")
	ifaces := flag.String("iface", "", "comma-separated interfaces (default: all multicast ones)")
	flag.Parse()
	if err := run(*name, *port, *instance, *ifaces); err != nil {
		fmt.Fprintln(os.Stderr, "lanmdns:", err)
		os.Exit(1)
	}
}

func run(name string, port int, instance, ifaces string) error {
	opts := mdns.Options{
		Name:     name,
		Port:     port,
		Instance: instance,
		TXT:      map[string]string{"version": "lantest"},
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if ifaces != "" {
		opts.Interfaces = strings.Split(ifaces, ",")
	}
	r, err := mdns.New(opts)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	out := json.NewEncoder(os.Stdout)
	claimed := false
	var peers []mdns.Peer
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
			return out.Encode(event{Event: "stopped"})
		case <-tick.C:
		}
		if !claimed && r.Claimed() {
			claimed = true
			if err := out.Encode(event{Event: "claimed", Name: r.Name(), Instance: r.Instance()}); err != nil {
				return err
			}
		}
		if p := r.Peers(); !reflect.DeepEqual(p, peers) {
			peers = p
			if err := out.Encode(event{Event: "peers", Peers: p}); err != nil {
				return err
			}
		}
	}
}
