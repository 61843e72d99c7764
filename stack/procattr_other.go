//go:build !linux

package stack

import "syscall"

// sysProcAttr: only Linux can tie a child's life to its parent's; elsewhere
// the processes are killed by Close only.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
