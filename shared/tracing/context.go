package tracing

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// The W3C trace context's header names, as sent on NATS messages.
const (
	HeaderParent = "traceparent"
	HeaderState  = "tracestate"
)

// Context is a W3C trace context: what is stored with an event and sent with
// it. The zero value is no trace context.
type Context struct {
	Parent string // traceparent: "00-<trace id>-<span id>-<flags>"
	State  string // tracestate, often empty
}

var w3c propagation.TraceContext

// IsZero reports whether c holds no trace context.
func (c Context) IsZero() bool { return c.Parent == "" }

// FromContext returns the trace context of ctx's span; zero if it has none.
func FromContext(ctx context.Context) Context {
	var c Context
	if trace.SpanContextFromContext(ctx).IsValid() {
		w3c.Inject(ctx, (*carrier)(&c))
	}
	return c
}

// Into returns ctx carrying c as its remote parent. A zero or malformed c
// leaves ctx as it is.
func (c Context) Into(ctx context.Context) context.Context {
	if c.Parent == "" {
		return ctx
	}
	return w3c.Extract(ctx, (*carrier)(&c))
}

// TraceID returns the trace id of c in hex; "" if c holds none.
func (c Context) TraceID() string {
	// "00-" 32 hex "-" 16 hex "-" 2 hex
	if len(c.Parent) < 55 || c.Parent[2] != '-' || c.Parent[35] != '-' {
		return ""
	}
	return c.Parent[3:35]
}

// FromHeader reads the trace context of a NATS message. The W3C names are
// lower case; the canonical forms ("Traceparent") are read too, as some
// clients send them so.
func FromHeader(h nats.Header) Context {
	get := func(k string) string {
		if v, ok := h[k]; ok && len(v) > 0 {
			return v[0]
		}
		if v, ok := h[strings.ToUpper(k[:1])+k[1:]]; ok && len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if h == nil {
		return Context{}
	}
	return Context{Parent: get(HeaderParent), State: get(HeaderState)}
}

// SetHeader writes c into h; a zero c writes nothing.
func (c Context) SetHeader(h nats.Header) {
	if c.Parent == "" {
		return
	}
	h[HeaderParent] = []string{c.Parent}
	if c.State != "" {
		h[HeaderState] = []string{c.State}
	}
}

// carrier lets the W3C propagator read and write a Context without a map.
type carrier Context

func (c *carrier) Get(key string) string {
	switch key {
	case HeaderParent:
		return c.Parent
	case HeaderState:
		return c.State
	}
	return ""
}

func (c *carrier) Set(key, value string) {
	switch key {
	case HeaderParent:
		c.Parent = value
	case HeaderState:
		c.State = value
	}
}

func (c *carrier) Keys() []string { return []string{HeaderParent, HeaderState} }

var _ propagation.TextMapCarrier = (*carrier)(nil)
