package bench

import "syscall"

// sysProcAttr puts each process in a group of its own (as goreman does) and
// has the kernel SIGKILL it if the benchmark dies, so no run leaves a server
// holding its ports and files.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
