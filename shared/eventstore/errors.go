package eventstore

import (
	"errors"

	"github.com/choreo-dev/choreo/shared/fault"
	"sync/atomic"
)

// ErrConcurrencyConflict is returned by an append whose expected version is
// not the aggregate's current version. Nothing was written; reload and decide
// again.
// It is transient: the write is retried (see package fault).
var ErrConcurrencyConflict = fault.MarkTransient(errors.New("concurrency conflict"))

// ErrLocked is returned by Open when another process holds the file.
var ErrLocked = errors.New("event store file is locked by another process")

// ErrReadOnly is returned when a read-only transaction is asked to write.
var ErrReadOnly = errors.New("read-only transaction")

// ErrNotOwner is returned by an append of an event type that another service
// publishes: a service appends only its own events.
var ErrNotOwner = errors.New("event type belongs to another service")

// ErrNotFound is returned when what was asked for is not in the store.
var ErrNotFound = errors.New("not found")

// ErrEventTooLarge is returned by an append of an event whose envelope is
// over MaxEventSize. The event is refused before anything is written: a
// command replies 413, a reaction treats the message that made it as poison.
var ErrEventTooLarge = fault.MarkPoison(errors.New("event too large"))

var conflicts atomic.Int64

// Conflicts is how many appends in this process failed with
// ErrConcurrencyConflict: a benchmark's measure of retry storms.
func Conflicts() int64 { return conflicts.Load() }
