package tracing

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

func TestContextRoundTrip(t *testing.T) {
	t.Parallel()
	in := Context{Parent: parent, State: "vendor=x"}
	ctx := in.Into(context.Background())
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsRemote() || !sc.IsSampled() || sc.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" {
		t.Fatalf("span context %+v", sc)
	}
	if got := FromContext(ctx); got != in {
		t.Fatalf("FromContext = %+v, want %+v", got, in)
	}
	if id := in.TraceID(); id != "0af7651916cd43dd8448eb211c80319c" {
		t.Fatalf("TraceID = %q", id)
	}
	h := nats.Header{}
	in.SetHeader(h)
	if h.Get("traceparent") != parent || h.Get("tracestate") != "vendor=x" {
		t.Fatalf("header %v", h)
	}
	if got := FromHeader(h); got != in {
		t.Fatalf("FromHeader = %+v", got)
	}
	if got := FromHeader(nats.Header{"Traceparent": {parent}}); got.Parent != parent {
		t.Fatalf("canonical header not read: %+v", got)
	}
}

func TestContextRejectsGarbage(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "nonsense", "00-00000000000000000000000000000000-b7ad6b7169203331-01", strings.Repeat("x", 55)} {
		ctx := Context{Parent: p}.Into(context.Background())
		if trace.SpanContextFromContext(ctx).IsValid() {
			t.Errorf("%q became a valid parent", p)
		}
		if FromContext(ctx) != (Context{}) {
			t.Errorf("%q: FromContext not zero", p)
		}
	}
}

func TestTracerOffCarriesOrMakesUpIDs(t *testing.T) {
	t.Parallel()
	var off *Tracer
	ctx, span := off.Start(Context{Parent: parent}.Into(context.Background()), "x")
	if span.IsRecording() || TraceID(ctx) != "0af7651916cd43dd8448eb211c80319c" {
		t.Fatalf("off tracer: recording %v, trace %q", span.IsRecording(), TraceID(ctx))
	}
	span.End()
	ctx, span = off.Start(context.Background(), "root")
	if span.IsRecording() || TraceID(ctx) == "" || FromContext(ctx).IsZero() {
		t.Fatalf("off tracer root: recording %v, trace %q", span.IsRecording(), TraceID(ctx))
	}
	_, again := off.Start(context.Background(), "root")
	if again.SpanContext().TraceID() == span.SpanContext().TraceID() {
		t.Fatal("two roots share a trace id")
	}
}

func TestTracerOnRecordsChildren(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tr := New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	ctx, span := tr.Start(Context{Parent: parent}.Into(context.Background()), "child")
	span.End()
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].SpanContext.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" ||
		spans[0].Parent.SpanID().String() != "b7ad6b7169203331" {
		t.Fatalf("spans %+v", spans)
	}
	if got := FromContext(ctx); got.TraceID() != "0af7651916cd43dd8448eb211c80319c" || got.Parent == parent {
		t.Fatalf("child context %+v", got)
	}
}

func TestExporting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env     map[string]string
		on, bad bool
	}{
		{env: nil},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, on: true},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x:4318/v1/traces"}, on: true},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, on: true},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}},
		{env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, bad: true},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, on: true, bad: true},
	} {
		on, err := exporting(func(k string) string { return tc.env[k] })
		if on != tc.on || (err != nil) != tc.bad {
			t.Errorf("%v: on %v err %v", tc.env, on, err)
		}
	}
}
