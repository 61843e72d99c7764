package stack

import "syscall"

// sysProcAttr puts each process in a group of its own, as goreman does (a
// Ctrl-C at the terminal reaches only the harness, which then stops the
// processes in order), and has the kernel SIGKILL it when the harness dies,
// so a test that panics or times out leaves no server holding its ports and
// files.
//
// The kernel sends the signal when the thread that started the child ends,
// not the process (go.dev/issue/27505); the Go runtime ends a thread only
// when a goroutine locked to it (runtime.LockOSThread) returns, and neither
// the harness nor its callers lock one.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
