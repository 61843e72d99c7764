//go:build !linux

package bench

import "os"

// fdatasync is what bbolt calls to make a commit durable (fsync where
// there is no fdatasync).
func fdatasync(f *os.File) error { return f.Sync() }
