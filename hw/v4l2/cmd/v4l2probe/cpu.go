package main

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process used so far, in user space
// (camd's code) and in the kernel (ioctls, and drivers that do their work
// in the caller's context, as vicodec does).
func processCPU() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
