package endpoint

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// request is the micro.Request a Server's worker answers: it publishes the
// reply on the connection itself, with the headers micro would set, and
// remembers the outcome for the statistics.
type request struct {
	nc      *nats.Conn
	subject string
	reply   string
	data    []byte
	headers micro.Headers
	// capture, if set, takes the reply instead of the reply subject: a
	// partition's own answer to a request it gathers.
	capture func(*nats.Msg)

	mu      sync.Mutex
	replied bool
	code    string // of an error reply
	failed  string // "<code>:<description>" of an error reply
}

var _ micro.Request = (*request)(nil)

func (r *request) Respond(data []byte, opts ...micro.RespondOpt) error {
	return r.send(&nats.Msg{Data: data}, opts, "", "")
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
	return r.send(msg, opts, code, code+":"+description)
}

func (r *request) send(msg *nats.Msg, opts []micro.RespondOpt, code, failure string) error {
	for _, opt := range opts {
		opt(msg)
	}
	r.mu.Lock()
	r.replied = true
	r.code, r.failed = code, failure
	r.mu.Unlock()
	if r.capture != nil {
		r.capture(msg)
		return nil
	}
	if r.reply == "" {
		return nats.ErrMsgNoReply
	}
	msg.Subject = r.reply
	if err := r.nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("%w: %w", micro.ErrRespond, err)
	}
	return nil
}

func (r *request) answered() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.replied
}

// outcome is the reply's status (200 for a success) and, for an error
// reply, "<code>:<description>".
func (r *request) outcome() (status int, failure string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed == "" {
		return 200, ""
	}
	return statusOf(r.code), r.failed
}

func (r *request) Data() []byte           { return r.data }
func (r *request) Headers() micro.Headers { return r.headers }
func (r *request) Subject() string        { return r.subject }
func (r *request) Reply() string          { return r.reply }
