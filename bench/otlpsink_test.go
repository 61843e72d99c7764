package bench

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The sink counts what a real OTLP/HTTP exporter sends it, gzip or not.
func TestOTLPSinkCountsSpans(t *testing.T) {
	sink, err := StartOTLPSink()
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	for _, gz := range []bool{false, true} {
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(sink.Endpoint() + "/v1/traces")}
		if gz {
			opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}
		exp, err := otlptracehttp.New(context.Background(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
			sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "order"))))
		for range 5 {
			_, sp := tp.Tracer("t").Start(context.Background(), "x")
			sp.End()
		}
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	by, total := sink.Spans()
	if total != 10 || by["order"] != 10 {
		t.Fatalf("sink counted %v (%d), want 10 spans of order", by, total)
	}
}
