package endpoint

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// request is a micro.Request that a worker answers after micro's handler has
// returned. micro's own request records the reply outcome in a field that
// micro reads, unsynchronised, as soon as its handler returns; answering it
// from a worker would race. This one is a copy that publishes the reply on
// the connection itself, with the same headers micro would set.
type request struct {
	nc      *nats.Conn
	subject string
	reply   string
	data    []byte
	headers micro.Headers

	mu      sync.Mutex
	replied bool
	failed  string // "<code>:<description>" of an error reply
}

var _ micro.Request = (*request)(nil)

func detach(nc *nats.Conn, r micro.Request) *request {
	return &request{nc: nc, subject: r.Subject(), reply: r.Reply(), data: r.Data(), headers: r.Headers()}
}

func (r *request) Respond(data []byte, opts ...micro.RespondOpt) error {
	return r.send(&nats.Msg{Data: data}, opts, "")
}

func (r *request) RespondJSON(v any, opts ...micro.RespondOpt) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: %v", micro.ErrMarshalResponse, err)
	}
	return r.Respond(data, opts...)
}

func (r *request) Error(code, description string, data []byte, opts ...micro.RespondOpt) error {
	if code == "" {
		return fmt.Errorf("%w: error code", micro.ErrArgRequired)
	}
	if description == "" {
		return fmt.Errorf("%w: description", micro.ErrArgRequired)
	}
	msg := &nats.Msg{
		Header: nats.Header{
			micro.ErrorHeader:     []string{description},
			micro.ErrorCodeHeader: []string{code},
		},
		Data: data,
	}
	return r.send(msg, opts, code+":"+description)
}

func (r *request) send(msg *nats.Msg, opts []micro.RespondOpt, failure string) error {
	for _, opt := range opts {
		opt(msg)
	}
	r.mu.Lock()
	r.replied = true
	r.failed = failure
	r.mu.Unlock()
	if r.reply == "" {
		return nats.ErrMsgNoReply
	}
	msg.Subject = r.reply
	if err := r.nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("%w: %s", micro.ErrRespond, err)
	}
	return nil
}

func (r *request) answered() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.replied
}

func (r *request) failure() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *request) Data() []byte           { return r.data }
func (r *request) Headers() micro.Headers { return r.headers }
func (r *request) Subject() string        { return r.subject }
func (r *request) Reply() string          { return r.reply }
