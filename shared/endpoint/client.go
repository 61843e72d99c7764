package endpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// ReplyError returns the contract error that a reply carries, as an *Error,
// or nil if msg is a success reply.
func ReplyError(msg *nats.Msg) error {
	code := msg.Header.Get(micro.ErrorCodeHeader)
	if code == "" {
		return nil
	}
	status, _ := strconv.Atoi(code)
	e := &Error{Status: status, Code: codeForStatus(status), Message: msg.Header.Get(micro.ErrorHeader)}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(msg.Data, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
	}
	return e
}

// Call sends req, marshalled as JSON, to subject and waits for the reply. A
// success reply is unmarshalled into resp unless resp is nil; an error reply
// is returned as an *Error.
func Call(ctx context.Context, nc *nats.Conn, subject string, req, resp any) error {
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("call %s: marshal request: %w", subject, err)
	}
	msg, err := nc.RequestWithContext(ctx, subject, data)
	if err != nil {
		return fmt.Errorf("call %s: %w", subject, err)
	}
	if err := ReplyError(msg); err != nil {
		return err
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(msg.Data, resp); err != nil {
		return fmt.Errorf("call %s: unmarshal reply: %w", subject, err)
	}
	return nil
}
