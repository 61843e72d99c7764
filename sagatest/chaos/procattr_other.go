//go:build !linux

package chaos

import "syscall"

// sysProcAttr: only Linux can tie a child's life to its parent's; elsewhere
// the children are killed in t.Cleanup only.
func sysProcAttr() *syscall.SysProcAttr { return nil }
