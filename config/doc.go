// Package config reads camd's configuration: one optional TOML file,
// environment variables and command-line flags, in that order, over built-in
// defaults.
//
// The layers are applied by [Load] (defaults, then the file, then every
// CAMD_* variable) and by [Config.Set] (flags, one dotted key at a time);
// [Config.Validate] checks ranges and consistency once all layers are in, so
// a flag can still repair a bad file. Every key is optional: camd runs with
// no file at all.
//
// Keys are dotted: "listen", "source.kind", "encoder.bitrate". The matching
// environment variable is CAMD_ followed by the key in upper case with dots
// turned into underscores: CAMD_LISTEN, CAMD_SOURCE_KIND,
// CAMD_ENCODER_BITRATE. List values (webrtc.ice_servers) are written with
// commas between items in a variable or flag.
//
// Values have types: [Bitrate] ("2Mbps", "300kbps") and [Duration] ("2s",
// "500ms") parse the same way in the file, the environment and on the
// command line. Every problem is an [*Error] that names its key, and where
// it came from (file and line, variable, or flag); all problems found in one
// pass are returned together as [Errors], so a person can fix them at once.
//
// Nothing in this package knows about cameras or encoders: cmd/camd copies
// each field into the options of the component that uses it.
package config
