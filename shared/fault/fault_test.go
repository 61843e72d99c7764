package fault_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"

	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/fault"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	berrors "go.etcd.io/bbolt/errors"
)

// One row per class and per kind of failure the consumers meet.
func TestClassify(t *testing.T) {
	t.Parallel()
	enospc := &fs.PathError{Op: "write", Path: "/data/payment.db", Err: syscall.ENOSPC}
	for _, tc := range []struct {
		name string
		err  error
		want fault.Class
	}{
		// The message's own fault.
		{"marked poison", fault.MarkPoison(errors.New("total is not the sum of the lines")), fault.Poison},
		{"poison wrapped", fmt.Errorf("handle: %w", fault.MarkPoison(errors.New("x"))), fault.Poison},
		{"poison beats transient", fault.MarkPoison(fault.MarkTransient(errors.New("x"))), fault.Poison},
		// The infrastructure's.
		{"disk full", fmt.Errorf("commit: %w", enospc), fault.Transient},
		{"quota", &os.PathError{Op: "write", Err: syscall.EDQUOT}, fault.Transient},
		{"I/O error", &os.PathError{Op: "fdatasync", Err: syscall.EIO}, fault.Transient},
		{"read-only file system", syscall.EROFS, fault.Transient},
		{"store closed", fmt.Errorf("update: %w", eventstore.ErrClosed), fault.Transient},
		{"concurrency conflict", eventstore.ErrConcurrencyConflict, fault.Transient},
		{"bbolt not open", berrors.ErrDatabaseNotOpen, fault.Transient},
		{"bbolt lock timeout", berrors.ErrTimeout, fault.Transient},
		{"deadline", context.DeadlineExceeded, fault.Transient},
		{"NATS away", fmt.Errorf("publish: %w", nats.ErrConnectionClosed), fault.Transient},
		{"NATS timeout", nats.ErrTimeout, fault.Transient},
		{"marked transient", fault.MarkTransient(errors.New("x")), fault.Transient},
		// Nobody knows: a bug, most likely.
		{"plain error", errors.New("index out of range"), fault.Unknown},
		{"nil", nil, fault.Unknown},
	} {
		if got := fault.Classify(tc.err); got != tc.want {
			t.Errorf("%s: Classify(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	if !fault.IsDiskFull(fmt.Errorf("x: %w", enospc)) || fault.IsDiskFull(syscall.EIO) {
		t.Error("IsDiskFull")
	}
	if !errors.Is(eventstore.ErrClosed, eventstore.ErrClosed) {
		t.Error("a marked sentinel still matches itself")
	}
}

func TestReason(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&os.PathError{Op: "write", Err: syscall.ENOSPC}, "disk full"},
		{&os.PathError{Op: "fdatasync", Err: syscall.EIO}, "disk I/O error"},
		{&jetstream.APIError{Code: 500, ErrorCode: 10047, Description: "insufficient storage resources available"}, "JetStream out of storage (is the server's disk full?)"},
		{jetstream.ErrJetStreamNotEnabled, "JetStream disabled on the server (it disables itself when its disk fills: restart nats-server once there is space)"},
		{fmt.Errorf("ensure: %w", jetstream.ErrStreamNotFound), "stream missing"},
		{nats.ErrConnectionClosed, "NATS unavailable"},
		{nats.ErrNoResponders, "no answer from JetStream"},
		{&jetstream.APIError{Code: 400, ErrorCode: 10999, Description: "something new"}, "refused by JetStream: something new"},
		{errors.New("boom"), "failing"},
	} {
		if got := fault.Reason(tc.err); got != tc.want {
			t.Errorf("Reason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
