package outbox

import (
	"context"

	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// publishSpans are the publish spans of one batch, by entry; nil entries
// (tracing off) do nothing.
type publishSpans []trace.Span

// start writes into h the trace context the consumers of e continue —
// with tracing on, that of a new publish span, a child of the context e
// was appended in; with tracing off, that context itself — and appends the
// span (nil when off).
func (s publishSpans) start(t *tracing.Tracer, e eventstore.OutboxEntry, h nats.Header) publishSpans {
	if !t.Enabled() {
		e.Trace.SetHeader(h)
		return append(s, nil)
	}
	// One attribute, the subject (it names the event's type and saga):
	// attributes cost on every event.
	ctx, span := t.Start(e.Trace.Into(context.Background()), "outbox.publish", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.destination.name", e.Subject)))
	tracing.FromContext(ctx).SetHeader(h)
	return append(s, span)
}

// end ends entry i's span, with err as its outcome.
func (s publishSpans) end(i int, err error) {
	if i < 0 || i >= len(s) || s[i] == nil {
		return
	}
	if err != nil {
		s[i].RecordError(err)
		s[i].SetStatus(codes.Error, "publish failed")
	}
	s[i].End()
	s[i] = nil
}

// endAll ends every span still open.
func (s publishSpans) endAll(err error) {
	for i := range s {
		s.end(i, err)
	}
}
