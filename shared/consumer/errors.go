package consumer

import (
	"errors"
	"sync/atomic"
)

// ErrPermanent marks a handler error that no retry can fix (a payload that
// breaks an invariant, say). Wrap it, or use Permanent: the message goes to
// the dead-letter stream at once.
var ErrPermanent = errors.New("permanent failure")

type permanentError struct{ err error }

func (e permanentError) Error() string        { return e.err.Error() }
func (e permanentError) Unwrap() []error      { return []error{e.err, ErrPermanent} }
func (e permanentError) Is(target error) bool { return target == ErrPermanent }

// Permanent marks err as not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

var retries atomic.Int64

// Retries is how many messages this process's consumers handed back for a
// retry after a handler error: a benchmark's measure of retry storms.
func Retries() int64 { return retries.Load() }
