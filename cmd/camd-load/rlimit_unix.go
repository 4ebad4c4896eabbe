//go:build unix

package main

import "syscall"

// raiseFileLimit lifts the open-file limit to its hard maximum: every
// viewer holds a few sockets, and a soft limit of 1024 would stop a few
// hundred viewers short.
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return uint64(l.Cur), nil
}
