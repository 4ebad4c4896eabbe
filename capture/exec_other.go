//go:build !unix

package capture

import "os/exec"

func newProcessGroup(*exec.Cmd) {}

// stopGroup ends the command; without process groups its children may
// outlive it.
func stopGroup(cmd *exec.Cmd, _ bool) { _ = cmd.Process.Kill() }
