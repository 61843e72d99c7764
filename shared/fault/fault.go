// Package fault says, in one place, whose fault a failure is — the message's
// or the service's — and so what a consumer does with the message.
//
//   - Poison: the message's own fault. It cannot be decoded, it is
//     inconsistent with where it came from, its payload breaks the
//     contract's limits, or the domain refuses it as permanently invalid. No
//     retry can help: it goes to the dead-letter stream at once.
//   - Transient: the service's infrastructure failed — the disk is full or
//     failing, the store is closed or locked, NATS is away, a deadline
//     passed, another writer won a race. The message is fine: it is retried
//     with backoff for as long as the fault lasts and never dead-lettered,
//     and the service reports itself not ready meanwhile.
//   - Unknown: anything else, a panic included — most likely a bug the
//     message triggers. It is retried a few times (MaxDeliver) and then
//     dead-lettered, so that a handler that fails on it every time does not
//     hold it for ever.
//
// Handlers mark what they know with Poison and Transient; Classify
// recognises the infrastructure's own errors without being told.
package fault

import (
	"context"
	"errors"
	"os"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	berrors "go.etcd.io/bbolt/errors"
)

// Class is whose fault a failure is.
type Class int

const (
	// Unknown is a failure nobody classified: retried a few times, then
	// dead-lettered.
	Unknown Class = iota
	// Transient is the service's infrastructure: retried for as long as it
	// lasts, never dead-lettered.
	Transient
	// Poison is the message's own fault: dead-lettered at once.
	Poison
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case Poison:
		return "poison"
	}
	return "unknown"
}

// ErrPoison marks a failure that is the message's own fault.
var ErrPoison = errors.New("poison message")

// ErrTransient marks a failure of the service's infrastructure.
var ErrTransient = errors.New("transient failure")

type marked struct {
	err  error
	mark error
}

func (e marked) Error() string   { return e.err.Error() }
func (e marked) Unwrap() []error { return []error{e.err, e.mark} }

// MarkPoison marks err as the message's own fault (nil stays nil).
func MarkPoison(err error) error {
	if err == nil {
		return nil
	}
	return marked{err, ErrPoison}
}

// MarkTransient marks err as the infrastructure's fault (nil stays nil).
func MarkTransient(err error) error {
	if err == nil {
		return nil
	}
	return marked{err, ErrTransient}
}

// transientErrnos are the system errors of a disk or a machine in trouble,
// not of a message.
var transientErrnos = []syscall.Errno{
	syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EROFS, syscall.EAGAIN,
	syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EBUSY, syscall.EINTR,
}

// transientErrors are the store's and NATS's own errors of unavailability.
var transientErrors = []error{
	context.DeadlineExceeded, context.Canceled, os.ErrDeadlineExceeded, os.ErrClosed,
	berrors.ErrDatabaseNotOpen, berrors.ErrTimeout, berrors.ErrDatabaseReadOnly, berrors.ErrMaxSizeReached,
	nats.ErrConnectionClosed, nats.ErrConnectionDraining, nats.ErrConnectionReconnecting, nats.ErrTimeout,
	nats.ErrNoResponders, nats.ErrDisconnected, nats.ErrNoServers, nats.ErrStaleConnection,
	jetstream.ErrNoStreamResponse, jetstream.ErrJetStreamNotEnabled, jetstream.ErrStreamNotFound,
	jetstream.ErrAsyncPublishTimeout,
}

// Classify says whose fault err is. A mark wins (Poison before Transient);
// then the infrastructure's own errors are Transient; anything else is
// Unknown.
func Classify(err error) Class {
	switch {
	case err == nil:
		return Unknown
	case errors.Is(err, ErrPoison):
		return Poison
	case errors.Is(err, ErrTransient):
		return Transient
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		for _, e := range transientErrnos {
			if errno == e {
				return Transient
			}
		}
	}
	for _, e := range transientErrors {
		if errors.Is(err, e) {
			return Transient
		}
	}
	return Unknown
}

// IsDiskFull reports whether err is the disk running out of space or quota:
// the one transient fault an operator must act on, so it is named.
func IsDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// Reason is a short, stable summary of a failure for an operator — what a
// readiness check says and what its one log line leads with. It names the
// fault an operator must act on (a full disk, JetStream out of storage or
// disabled, a missing stream) and otherwise says what is unavailable.
func Reason(err error) string {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10023, 10047: // insufficient resources / storage resources exceeded
			return "JetStream out of storage (is the server's disk full?)"
		case jetstream.JSErrCodeJetStreamNotEnabled, jetstream.JSErrCodeJetStreamNotEnabledForAccount:
			return "JetStream disabled on the server (it disables itself when its disk fills: restart nats-server once there is space)"
		case jetstream.JSErrCodeStreamNotFound:
			return "stream missing"
		case jetstream.JSErrCodeStreamMessageExceedsMaximum:
			return "message too large for the stream"
		}
		return "refused by JetStream: " + apiErr.Description
	}
	switch {
	case IsDiskFull(err):
		return "disk full"
	case errors.Is(err, syscall.EIO):
		return "disk I/O error"
	case errors.Is(err, syscall.EROFS):
		return "disk read-only"
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return "stream missing"
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled):
		return "JetStream disabled on the server (it disables itself when its disk fills: restart nats-server once there is space)"
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected), errors.Is(err, nats.ErrNoServers), errors.Is(err, nats.ErrConnectionDraining):
		return "NATS unavailable"
	case errors.Is(err, jetstream.ErrAsyncPublishTimeout):
		return "no PubAck from JetStream in time (is the server's disk full, or the server overloaded?)"
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "no answer from JetStream"
	case errors.Is(err, berrors.ErrDatabaseNotOpen), errors.Is(err, berrors.ErrTimeout):
		return "store unavailable"
	}
	if Classify(err) == Transient {
		return "unavailable"
	}
	return "failing"
}
