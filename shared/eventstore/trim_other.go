//go:build !linux

package eventstore

// dontNeed does nothing where the store does not trim its mapping.
func dontNeed(addr, size uintptr) error { return nil }
