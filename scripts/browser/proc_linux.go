package browser

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sysProcAttr puts Chromium and its helpers (zygote, renderers, GPU and
// network services) in their own process group, so that Close can end every
// one of them, and kills Chromium if the thread that started it dies
// without calling Close (a test binary that crashed).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// endLeftovers kills what is left of a browser that has exited: the
// processes of its group pgid, and those whose command line names its
// profile dir. Chromium's crash handler starts a session of its own,
// outside the group, and writes into the profile; as of Chromium 156 it
// quits soon after the browser, and --disable-crashpad-for-testing (which
// would avoid it) stops pages from loading. endLeftovers returns when none
// is alive, or after timeout.
func endLeftovers(pgid int, dir string, timeout time.Duration) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // ESRCH, an empty group, is normal
	deadline := time.Now().Add(timeout)
	for {
		pids := leftovers(pgid, dir)
		if len(pids) == 0 || time.Now().After(deadline) {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// leftovers lists the live processes in group pgid or with dir in their
// command line. Zombies are dead (only the reaping is left, which the init
// process of a container may take its time over) and are left out.
func leftovers(pgid int, dir string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid pgrp ...", and comm may hold anything.
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(cmdline, []byte(dir)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
