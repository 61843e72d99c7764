package client

import (
	"context"
	"errors"

	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Contract error codes, the "code" of an error reply.
const (
	CodeInvalidArgument = endpoint.CodeInvalidArgument
	CodeNotFound        = endpoint.CodeNotFound
	CodeConflict        = endpoint.CodeConflict
	CodeTooLarge        = endpoint.CodeTooLarge
	CodeInternal        = endpoint.CodeInternal
)

// Sentinels, one per contract error class: every *Error matches the one of
// its Code through errors.Is, so callers test the class without caring about
// the message. They are the services' own (shared/endpoint), so one
// definition serves both ends.
var (
	// ErrInvalidArgument (400): malformed JSON, unknown fields, missing or
	// out-of-range values. Nothing was changed.
	ErrInvalidArgument = endpoint.ErrInvalidArgument
	// ErrNotFound (404): an unknown order, payment, shipment, customer or
	// SKU in a query.
	ErrNotFound = endpoint.ErrNotFound
	// ErrConflict (409): an order_id placed before with other content, or a
	// cancel of a completed or cancelled order.
	ErrConflict = endpoint.ErrConflict
	// ErrTooLarge (413): a request body over 64 KiB.
	ErrTooLarge = endpoint.ErrTooLarge
	// ErrInternal (500): anything else; the details are in the service's log.
	ErrInternal = endpoint.ErrInternal
)

// Errors of the request itself rather than of the service's answer.
var (
	// ErrNoResponders: no service is subscribed to the subject, so the
	// request was not handled. The service is down, or not started yet.
	ErrNoResponders = errors.New("no service answers (is it running?)")
	// ErrTimeout: no reply came before the deadline. A command may or may
	// not have been committed.
	ErrTimeout = errors.New("no reply in time")
)

// Error is an error reply of the contract: Status (400, 404, 409, 413 or
// 500), Code (invalid_argument, not_found, conflict, too_large or internal)
// and a Message that names the offending field. Error() is the message; Is
// matches the sentinel of the same Code. It is the type the services'
// handlers reply with, read back.
type Error = endpoint.Error

// Code returns the contract code of the *Error in err's chain ("not_found",
// …), or "" if err is not an error reply.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// ReplyError returns the contract error that a reply carries, as an *Error,
// or nil if msg is a success reply. It is what Call does with every reply;
// use it on replies to requests sent by other means (a reply subject of your
// own, say), where it also reports the server's no-responders status as
// ErrNoResponders.
func ReplyError(msg *nats.Msg) error {
	if msg.Header.Get(micro.ErrorCodeHeader) == "" && len(msg.Data) == 0 && msg.Header.Get("Status") == "503" {
		return ErrNoResponders
	}
	return endpoint.ParseReply(msg)
}

// requestError is a request that got no reply: Is matches both its kind
// (ErrNoResponders, ErrTimeout) and the NATS or context error behind it.
type requestError struct {
	subject string
	kind    error // ErrNoResponders, ErrTimeout, or nil
	cause   error
}

func (e *requestError) Error() string {
	if e.kind != nil {
		return e.subject + ": " + e.kind.Error()
	}
	return e.subject + ": " + e.cause.Error()
}

func (e *requestError) Unwrap() []error {
	if e.kind != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.cause}
}

func newRequestError(subject string, err error) error {
	e := &requestError{subject: subject, cause: err}
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		e.kind = ErrNoResponders
	case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		e.kind = ErrTimeout
	}
	return e
}
