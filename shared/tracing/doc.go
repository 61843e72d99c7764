// Package tracing follows one saga across the services as one
// OpenTelemetry trace, with W3C trace context.
//
// Basics. A [Context] is a W3C trace context (the traceparent and
// tracestate strings) as it travels with an event: the event store keeps it
// with each event and its outbox entry, in the transaction that appends the
// event, so an event published after a crash still carries it; the outbox
// relay sends it as the NATS headers "traceparent" and "tracestate"; a
// consumer continues it. A [Tracer] starts the spans: a request's, a store
// commit's, a publish's, an event handled.
//
// Tracing off costs next to nothing. Without an exporter configured
// ([FromEnv]: OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT, …) a Tracer
// records nothing and makes no spans; it only carries the trace context it
// is handed, and makes up trace and span ids where there is none (a request
// without a traceparent), so that every event and every log line of a saga
// still carries its trace_id. A nil *Tracer is such a tracer.
//
// Caveat: with tracing off, the ids made up for a request are not sampled
// (flags 00); a service with tracing on continues such a trace only if its
// sampler (OTEL_TRACES_SAMPLER) samples children of unsampled parents.
package tracing
