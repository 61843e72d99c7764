package endpoint

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Contract error codes, the "code" of an error reply.
const (
	CodeInvalidArgument = "invalid_argument"
	CodeNotFound        = "not_found"
	CodeConflict        = "conflict"
	CodeTooLarge        = "too_large"
	CodeInternal        = "internal"
)

// Sentinels, one per contract error class. Every *Error matches the sentinel
// of its Code through errors.Is, so callers test the class without caring
// about the message:
//
//	if errors.Is(err, endpoint.ErrNotFound) { … }
//
// A sentinel may also be returned (or wrapped) by a handler as is; the reply
// then carries its generic message.
var (
	// ErrInvalidArgument is the class of 400 replies: malformed JSON, unknown
	// fields, missing or out-of-range values.
	ErrInvalidArgument error = &Error{Status: 400, Code: CodeInvalidArgument, Message: "invalid argument"}
	// ErrNotFound is the class of 404 replies: an unknown order, payment,
	// shipment, customer or SKU in a query.
	ErrNotFound error = &Error{Status: 404, Code: CodeNotFound, Message: "not found"}
	// ErrConflict is the class of 409 replies: an idempotency mismatch, or a
	// command that the aggregate's state forbids.
	ErrConflict error = &Error{Status: 409, Code: CodeConflict, Message: "conflict"}
	// ErrTooLarge is the class of 413 replies: a request body over MaxBodySize.
	ErrTooLarge error = &Error{Status: 413, Code: CodeTooLarge, Message: "request body too large"}
	// ErrInternal is the class of 500 replies. A handler never needs it: any
	// error that is not an *Error is replied as internal.
	ErrInternal error = &Error{Status: 500, Code: CodeInternal, Message: "internal error"}
)

// Error is a contract error reply: an HTTP-like status, a code and a message
// that names the offending field. Handlers return one (usually through
// Invalid, NotFound or Conflict) to choose the reply; the message is sent to
// the client as is, except for status 500 whose message stays in the log.
type Error struct {
	Status  int    // 400, 404, 409, 413 or 500
	Code    string // invalid_argument, not_found, conflict, too_large or internal
	Message string // e.g. "items[2].quantity must be between 1 and 10000"
}

// Error returns the message, so that a wrapped Error reads naturally:
// fmt.Errorf("load %s: %w", id, err).
func (e *Error) Error() string { return e.Message }

// Is reports whether target is an *Error with the same Code; this is what
// makes errors.Is(err, ErrNotFound) true for every not_found error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Invalid returns a 400 invalid_argument error.
func Invalid(format string, args ...any) *Error {
	return &Error{Status: 400, Code: CodeInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// NotFound returns a 404 not_found error.
func NotFound(format string, args ...any) *Error {
	return &Error{Status: 404, Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

// Conflict returns a 409 conflict error.
func Conflict(format string, args ...any) *Error {
	return &Error{Status: 409, Code: CodeConflict, Message: fmt.Sprintf(format, args...)}
}

// tooLarge returns a 413 too_large error.
func tooLarge(format string, args ...any) *Error {
	return &Error{Status: 413, Code: CodeTooLarge, Message: fmt.Sprintf(format, args...)}
}

// codeForStatus maps a status back to its code, for replies that lack a body.
func codeForStatus(status int) string {
	switch status {
	case 400:
		return CodeInvalidArgument
	case 404:
		return CodeNotFound
	case 409:
		return CodeConflict
	case 413:
		return CodeTooLarge
	default:
		return CodeInternal
	}
}

// ParseReply returns the contract error a reply carries, as an *Error, or
// nil if msg is a success reply: the reading side of what a Server writes
// (the micro error headers, and the body {"error":{"code","message"}}).
func ParseReply(msg *nats.Msg) error {
	status := msg.Header.Get(micro.ErrorCodeHeader)
	if status == "" {
		return nil
	}
	e := &Error{Message: msg.Header.Get(micro.ErrorHeader)}
	e.Status, _ = strconv.Atoi(status)
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(msg.Data, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
		return e
	}
	e.Code = CodeInternal
	for _, s := range []error{ErrInvalidArgument, ErrNotFound, ErrConflict, ErrTooLarge} {
		if s := s.(*Error); s.Status == e.Status {
			e.Code = s.Code
		}
	}
	return e
}
