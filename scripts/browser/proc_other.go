//go:build !linux

package browser

import (
	"syscall"
	"time"
)

// Outside Linux there is no process group to set up or /proc to search:
// Close relies on Chromium ending its own helpers.

func sysProcAttr() *syscall.SysProcAttr { return nil }

func endLeftovers(pgid int, dir string, timeout time.Duration) {}

func leftovers(pgid int, dir string) []int { return nil }
