package consumer

import (
	"errors"

	"github.com/choreo-dev/choreo/shared/fault"
	"sync/atomic"
)

// ErrPermanent marks a handler error that no retry can fix (a payload that
// breaks an invariant, say): the message's own fault, fault.ErrPoison. Use
// Permanent: the message goes to the dead-letter stream at once.
var ErrPermanent = fault.ErrPoison

// ErrInconsistent is the reason a delivered event was not believed: its
// envelope does not agree with where it came from (see decode).
var ErrInconsistent = errors.New("inconsistent event")

// ErrNotProvisioned is why a consumer whose durable is provisioned for it
// (Config.Provisioned) cannot bind: the durable, or its stream, is missing.
var ErrNotProvisioned = errors.New("not provisioned")

// Permanent marks err as not worth retrying (fault.MarkPoison).
func Permanent(err error) error { return fault.MarkPoison(err) }

var retries atomic.Int64

var backpressure atomic.Int64

// Backpressure is how many messages this process's consumers could not
// queue in memory because their order's queue was full (a hot order): set
// aside in the store, or handed back.
func Backpressure() int64 { return backpressure.Load() }

// Retries is how many messages this process's consumers handed back for a
// retry after a handler error: a benchmark's measure of retry storms.
func Retries() int64 { return retries.Load() }
