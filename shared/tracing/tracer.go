package tracing

import (
	"context"
	"encoding/binary"
	"math/rand/v2"

	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of every Choreo span.
const Scope = "github.com/choreo-dev/choreo"

// Tracer starts spans. A nil *Tracer is tracing off: see the package doc.
type Tracer struct {
	t trace.Tracer
}

// New returns a Tracer on tp; nil if tp is nil (tracing off).
func New(tp trace.TracerProvider) *Tracer {
	if tp == nil {
		return nil
	}
	return &Tracer{t: tp.Tracer(Scope)}
}

// Enabled reports whether spans are made (and may be recorded).
func (t *Tracer) Enabled() bool { return t != nil }

// Start starts a span named name, a child of ctx's span (or of its remote
// parent). With tracing off it starts nothing and returns ctx and its
// span as they are — except that a ctx without a trace context gets one
// made up, so that what follows still has a trace id. End the returned
// span as usual; with tracing off that does nothing.
func (t *Tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t != nil {
		return t.t.Start(ctx, name, opts...)
	}
	if span := trace.SpanFromContext(ctx); span.SpanContext().IsValid() {
		return ctx, span
	}
	ctx = trace.ContextWithSpanContext(ctx, NewRoot())
	return ctx, trace.SpanFromContext(ctx)
}

// NewRoot makes up a new trace: random trace and span ids, not sampled.
func NewRoot() trace.SpanContext {
	var tid trace.TraceID
	var sid trace.SpanID
	for !tid.IsValid() {
		binary.BigEndian.PutUint64(tid[:8], rand.Uint64())
		binary.BigEndian.PutUint64(tid[8:], rand.Uint64())
	}
	for !sid.IsValid() {
		binary.BigEndian.PutUint64(sid[:], rand.Uint64())
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})
}

// TraceID returns the trace id of ctx's span in hex; "" if it has none.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}
