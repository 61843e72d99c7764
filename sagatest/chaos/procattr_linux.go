package chaos

import "syscall"

// sysProcAttr makes the kernel SIGKILL a child when the test binary dies, so
// a test that panics or times out leaves no process holding its ports.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
