//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// detach starts cmd in its own session: the terminal's Ctrl-C and hang-up
// do not reach it.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
