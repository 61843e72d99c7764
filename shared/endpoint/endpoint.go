package endpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"
)

// Log field keys.
const (
	keySubject = "subject"
	keyCode    = "code"
	keyStatus  = "status"
	keyOrderID = "order_id"

	keyCorrelationID = "correlation_id"
	keyTraceID       = "trace_id"
	keyStack         = "stack"
	keyPanic         = "panic"
)

// DefaultRequestTimeout bounds a request's context when Config.RequestTimeout
// is zero, and when an Endpoint's Handler runs outside a Server.
const DefaultRequestTimeout = 10 * time.Second

// maxMessageLen bounds an error message: it travels in a NATS header.
const maxMessageLen = 1024

// Handler handles one decoded, validated request. It returns the reply value,
// marshalled as JSON (nil replies {}), or an error: an *Error (or an error
// wrapping one) is replied as is; anything else is replied as 500 internal
// with the message "internal error", and logged with its details.
//
// ctx carries the request deadline and a logger (zerolog.Ctx) with the
// subject and, when the body has a valid one, the order_id.
type Handler[Req any] func(ctx context.Context, req *Req) (any, error)

// Endpoint describes one micro endpoint. Build it with New; a hand-made
// Endpoint with any micro.Handler works too (a Server then runs it in its
// worker pool, with panic recovery, but without decoding).
type Endpoint struct {
	Name    string // micro endpoint name; New takes the subject's last token
	Subject string
	Handler micro.Handler // stand-alone handler, for use without a Server

	serve func(ctx context.Context, req micro.Request) // set by New
	route string                                       // RouteBy's field
	merge Merge                                        // Gather's
}

// Option adjusts an Endpoint made by New.
type Option func(*Endpoint)

// WithName sets the endpoint's name instead of the subject's last token.
func WithName(name string) Option {
	return func(e *Endpoint) { e.Name = name }
}

// New returns an endpoint on subject that decodes each request into a Req by
// Decode's rules, calls h, and replies. Its name is the subject's last token
// ("order.place" is "place"). Panics in h are recovered and replied as 500.
func New[Req any](subject string, h Handler[Req], opts ...Option) Endpoint {
	e := Endpoint{Name: subject[strings.LastIndexByte(subject, '.')+1:], Subject: subject}
	for _, opt := range opts {
		opt(&e)
	}
	e.serve = func(ctx context.Context, req micro.Request) {
		log := zerolog.Ctx(ctx).With().Str(keySubject, req.Subject())
		if id := orderID(req.Data()); id != "" {
			// A saga's correlation id is its order id.
			log = log.Str(keyOrderID, id).Str(keyCorrelationID, id)
		}
		if id := tracing.TraceID(ctx); id != "" {
			log = log.Str(keyTraceID, id)
		}
		logger := log.Logger()
		ctx = logger.WithContext(ctx)
		body, err := call(ctx, req.Data(), h)
		reply(ctx, req, body, err)
	}
	e.Handler = micro.HandlerFunc(func(req micro.Request) {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultRequestTimeout)
		defer cancel()
		e.serve(ctx, req)
	})
	return e
}

// panicError is a recovered panic.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// call decodes data, runs h and marshals its reply value; a panic on the way
// becomes a *panicError.
func call[Req any](ctx context.Context, data []byte, h Handler[Req]) (body []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			body, err = nil, &panicError{value: r, stack: debug.Stack()}
		}
	}()
	req, err := Decode[Req](data)
	if err != nil {
		return nil, err
	}
	v, err := h(ctx, req)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return []byte("{}"), nil
	}
	if body, err = json.Marshal(v); err != nil {
		return nil, fmt.Errorf("marshal reply: %w", err)
	}
	return body, nil
}

// reply answers req with body, or with err as a contract error reply, and
// logs a failure once, with the logger in ctx.
func reply(ctx context.Context, req micro.Request, body []byte, err error) {
	log := zerolog.Ctx(ctx)
	if err == nil {
		rerr := req.Respond(body)
		if !errors.Is(rerr, nats.ErrMaxPayload) {
			if rerr != nil {
				replyFailed(log, rerr)
			}
			return
		}
		// An answer that does not fit in one message: an error reply,
		// rather than a caller left to time out.
		err = fmt.Errorf("reply of %d bytes is larger than the server's max payload: %w", len(body), rerr)
	}
	var e *Error
	if !errors.As(err, &e) || e.Status >= 500 {
		ev := log.Error().Err(err).Str(keyCode, CodeInternal).Int(keyStatus, 500)
		if p := (*panicError)(nil); errors.As(err, &p) {
			ev = ev.Str(keyPanic, fmt.Sprint(p.value)).Bytes(keyStack, p.stack)
		}
		ev.Msg("request failed")
		e = &Error{Status: 500, Code: CodeInternal, Message: "internal error"}
	} else {
		log.Debug().Str(keyCode, e.Code).Int(keyStatus, e.Status).Str(zerolog.ErrorFieldName, e.Message).Msg("request rejected")
	}
	if rerr := respondError(req, e); rerr != nil {
		replyFailed(log, rerr)
	}
}

// replyFailed logs a reply that could not be sent. A request published
// without a reply subject is served all the same, and is not a problem.
func replyFailed(log *zerolog.Logger, err error) {
	if errors.Is(err, nats.ErrMsgNoReply) {
		log.Debug().Msg("request has no reply subject")
		return
	}
	log.Warn().Err(err).Msg("reply not sent")
}

// respondError sends e as a contract error reply: the micro error headers
// and the body {"error":{"code","message"}}.
func respondError(req micro.Request, e *Error) error {
	msg := cleanMessage(e.Message)
	code := e.Code
	if code == "" {
		code = codeForStatus(e.Status)
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code = code
	body.Error.Message = msg
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return req.Error(strconv.Itoa(e.Status), msg, data)
}

// cleanMessage makes a message fit for a NATS header: valid UTF-8, no control
// characters (a CR or LF would break the header block), not empty, bounded.
func cleanMessage(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxMessageLen {
		cut := maxMessageLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	if strings.TrimSpace(s) == "" {
		s = "error"
	}
	return s
}

// orderID returns the body's top-level order_id if it is a valid identifier.
func orderID(data []byte) string {
	if !bytes.Contains(data, []byte(`"order_id"`)) || len(data) > MaxBodySize {
		return ""
	}
	var v struct {
		OrderID string `json:"order_id"`
	}
	if json.Unmarshal(data, &v) != nil || !ValidID(v.OrderID) {
		return ""
	}
	return v.OrderID
}
