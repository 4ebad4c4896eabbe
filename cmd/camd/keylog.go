package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// keyLog is the debug.keylog_file: DTLS keys appended in the NSS key log
// format (the SSLKEYLOGFILE of browsers and curl), one write per line, from
// every session's handshake.
type keyLog struct {
	mu sync.Mutex
	f  *os.File
}

func (k *keyLog) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.f.Write(p)
}

func (k *keyLog) Close() error { return k.f.Close() }

// openKeyLog opens path for the DTLS keys (readable by the owner only) and
// says loudly that the video can be decrypted while it is on. An empty
// path is off: nil, nil.
func openKeyLog(path string, log *slog.Logger) (*keyLog, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("debug.keylog_file: %w", err)
	}
	log.Warn("DEBUG KEY LOG IS ON: every viewer's DTLS keys are written to a file; anyone who can read it can decrypt the video. Set debug.keylog_file = \"\" when done.",
		"debug.keylog_file", path)
	return &keyLog{f: f}, nil
}

var _ io.WriteCloser = (*keyLog)(nil)
