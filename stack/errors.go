package stack

import "errors"

var (
	// ErrNoNATS: the Procfile has no nats-server entry to start first.
	ErrNoNATS = errors.New("stack: the Procfile has no nats-server entry")
	// ErrUnknown: no Procfile entry has that name.
	ErrUnknown = errors.New("stack: no such Procfile entry")
	// ErrRunning: a process of that name is already running.
	ErrRunning = errors.New("stack: already running")
	// ErrNotRunning: no process of that name is running.
	ErrNotRunning = errors.New("stack: not running")
	// ErrExited: the process ended before it was ready.
	ErrExited = errors.New("stack: exited before it was ready")
	// ErrNotReady: the process was not ready within Config.ReadyTimeout.
	ErrNotReady = errors.New("stack: not ready in time")
	// ErrStopTimeout: the process did not exit within the timeout after
	// SIGTERM, and was killed.
	ErrStopTimeout = errors.New("stack: did not exit after SIGTERM")
	// ErrClosed: the stack was closed.
	ErrClosed = errors.New("stack: closed")
)
