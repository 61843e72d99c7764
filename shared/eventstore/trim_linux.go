package eventstore

import "syscall"

// dontNeed is madvise(addr, size, MADV_DONTNEED). addr is the start of
// bbolt's mapping (page aligned) and size at most its length.
func dontNeed(addr, size uintptr) error {
	if size == 0 {
		return nil
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, size, syscall.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}
