package eventstore

import (
	"context"
	"time"

	"github.com/choreo-dev/choreo/shared/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Trace contexts.
//
// Every public event is appended in a trace context: the one of the ctx
// given to Update (a request's, an event handler's), or Meta.Trace. It is
// kept in the same transaction as the event, twice: with its outbox entry,
// so that the relay sends it even after a crash, and beside the stored
// event (bucket event_traces), so that a republished event carries it again
// and a later step of the saga (a deadline passing) can continue its trace.
// Values: len(traceparent)(1) traceparent tracestate.

// Trace returns the trace context this transaction appends in.
func (tx *Tx) Trace() tracing.Context { return tx.trace }

func (tx *Tx) keepTrace(ek []byte, tc tracing.Context) error {
	if tc.IsZero() || len(tc.Parent) > 0xff {
		return nil
	}
	v := make([]byte, 0, 1+len(tc.Parent)+len(tc.State))
	v = append(v, byte(len(tc.Parent)))
	v = append(v, tc.Parent...)
	v = append(v, tc.State...)
	tx.wrote()
	return tx.b.Bucket(bucketTraces).Put(ek, v)
}

func (tx *Tx) traceOf(ek []byte) tracing.Context {
	b := tx.b.Bucket(bucketTraces)
	if b == nil {
		return tracing.Context{}
	}
	v := b.Get(ek)
	if len(v) < 1 || len(v) < 1+int(v[0]) {
		return tracing.Context{}
	}
	n := int(v[0])
	return tracing.Context{Parent: string(v[1 : 1+n]), State: string(v[1+n:])}
}

// TraceOf returns the trace context an aggregate's event was appended in:
// the one at version, or the latest if version is 0. Zero if the event is
// private, unknown or older than trace contexts.
func (tx *Tx) TraceOf(aggType, aggID string, version uint64) tracing.Context {
	if version == 0 {
		if version = tx.Version(aggType, aggID); version == 0 {
			return tracing.Context{}
		}
	}
	return tx.traceOf(eventKey(aggKey(aggType, aggID), version))
}

// OnCommit calls fn once this transaction has committed (not if it rolls
// back, nor if a group commit runs the closure again: that run registers
// its own). Metrics and log lines about what a transaction did belong
// there, not in the closure.
func (tx *Tx) OnCommit(fn func()) {
	if tx.b.Writable() {
		tx.b.OnCommit(func() {
			if !tx.dropped { // its closure refused, and the batch went on without it
				fn()
			}
		})
	}
}

// Rebuilding reports whether the transaction is RebuildProjections
// replaying the log: a projection that also reports (metrics, logs) keeps
// quiet then.
func (tx *Tx) Rebuilding() bool { return tx.rebuilding }

// commitSpan is an Update's span, from the call to the commit; the time it
// waited for the group commit's transaction to run the closure is its
// attribute choreo.store.group_commit_wait_ms (the rest is the batch's run
// and its fsync). Its methods do nothing without a tracer.
type commitSpan struct {
	span   trace.Span
	queued time.Time
	first  time.Time
}

func (s *Store) startCommit(ctx context.Context) *commitSpan {
	if !s.opts.Tracer.Enabled() {
		return nil
	}
	queued := time.Now()
	_, span := s.opts.Tracer.Start(ctx, "store.commit", trace.WithTimestamp(queued))
	return &commitSpan{span: span, queued: queued}
}

// ran marks a run of the closure inside the batch's transaction.
func (c *commitSpan) ran() {
	if c != nil && c.first.IsZero() {
		c.first = time.Now()
	}
}

func (c *commitSpan) end(err error) {
	if c == nil {
		return
	}
	if !c.first.IsZero() && c.span.IsRecording() {
		c.span.SetAttributes(attribute.Float64("choreo.store.group_commit_wait_ms", float64(c.first.Sub(c.queued).Microseconds())/1000))
	}
	if err != nil {
		c.span.RecordError(err)
		c.span.SetStatus(codes.Error, "commit failed")
	}
	c.span.End()
}
