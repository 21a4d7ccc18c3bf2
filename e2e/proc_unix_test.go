//go:build unix

package e2e

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup makes the command the leader of a new process group, so that
// stopping it also stops anything it started.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to the whole process group of cmd; kill selects SIGKILL
// over SIGTERM.
func signalGroup(cmd *exec.Cmd, kill bool) {
	if cmd.Process == nil {
		return
	}
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
