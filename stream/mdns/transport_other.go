//go:build !linux

package mdns

import "log/slog"

func listen(*slog.Logger) (Transport, error) { return nil, ErrUnsupported }
