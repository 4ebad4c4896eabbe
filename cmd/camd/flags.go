package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/camd-project/camd/config"
)

// flagKeys maps command-line flags to config keys. Flags are the last
// layer: defaults → file → environment → flags.
var flagKeys = []struct{ flag, key, usage string }{
	{"listen", "listen", "HTTP listen address (host:port)"},
	{"name", "name", "instance name"},
	{"source", "source.kind", "frame source: auto, pattern, file, v4l2, exec"},
	{"device", "source.device", "V4L2 camera device"},
	{"file", "source.path", "H.264 Annex-B file to loop (source=file)"},
	{"fps", "source.fps", "frames per second"},
	{"encoder", "encoder.kind", "encoder: auto, openh264, v4l2m2m, passthrough"},
	{"bitrate", "encoder.bitrate", "initial bitrate, e.g. 2Mbps"},
	{"log-level", "log_level", "debug, info, warn or error"},
}

type flags struct {
	fs     *flag.FlagSet
	config *string
	size   *string
	sets   multiFlag
	vals   map[string]*string
}

// multiFlag collects repeated -set key=value flags.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func newFlags(out io.Writer) *flags {
	fs := flag.NewFlagSet("camd", flag.ContinueOnError)
	fs.SetOutput(out)
	f := &flags{fs: fs, vals: make(map[string]*string)}
	f.config = fs.String("config", "", "config file (TOML); optional")
	f.size = fs.String("size", "", "frame size WIDTHxHEIGHT, e.g. 1280x720")
	fs.Var(&f.sets, "set", "set any config key, e.g. -set webrtc.max_viewers=4 (repeatable)")
	for _, k := range flagKeys {
		f.vals[k.flag] = fs.String(k.flag, "", k.usage+" (config "+k.key+")")
	}
	return f
}

// load builds the config from defaults, file, environment and the flags
// that were given, and validates it.
func (f *flags) load(env []string) (*config.Config, error) {
	var overrides [][2]string
	var errs []error
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "config", "set":
		case "size":
			w, h, ok := strings.Cut(strings.ToLower(*f.size), "x")
			if !ok {
				errs = append(errs, fmt.Errorf("flag -size: want WIDTHxHEIGHT, got %q", *f.size))
				return
			}
			overrides = append(overrides, [2]string{"source.width", w}, [2]string{"source.height", h})
		default:
			for _, k := range flagKeys {
				if k.flag == fl.Name {
					overrides = append(overrides, [2]string{k.key, *f.vals[k.flag]})
				}
			}
		}
	})
	for _, s := range f.sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("flag -set: want key=value, got %q", s))
			continue
		}
		overrides = append(overrides, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return loadAndValidate(*f.config, env, overrides)
}

func loadAndValidate(path string, env []string, overrides [][2]string) (*config.Config, error) {
	cfg, err := config.Load(path, env)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, o := range overrides {
		if err := cfg.Set(o[0], o[1]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}
