package bench

import (
	"os"
	"syscall"
)

// fdatasync is what bbolt calls to make a commit durable on Linux.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
