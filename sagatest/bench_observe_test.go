package sagatest_test

import (
	"context"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/bench"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkSagasObserved is BenchmarkSagas with metrics and tracing off and
// on (every saga traced, spans exported with OTLP/HTTP to a receiver in the
// test process), for profiles of what observing costs:
// go test -run '^$' -bench SagasObserved/on -cpuprofile cpu.out ./sagatest
func BenchmarkSagasObserved(b *testing.B) {
	b.Run("off", func(b *testing.B) { benchmarkSagas(b, sagatest.Options{SagaTimeout: 5 * time.Minute}) })
	b.Run("on", func(b *testing.B) {
		sink, err := bench.StartOTLPSink()
		if err != nil {
			b.Fatal(err)
		}
		defer sink.Close()
		var providers []*sdktrace.TracerProvider
		defer func() {
			for _, tp := range providers {
				_ = tp.Shutdown(context.Background())
			}
		}()
		tracer := func(name string) *tracing.Tracer {
			exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(sink.Endpoint()+"/v1/traces"))
			if err != nil {
				b.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
				sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", name))))
			providers = append(providers, tp)
			return tracing.New(tp)
		}
		benchmarkSagas(b, sagatest.Options{SagaTimeout: 5 * time.Minute, HTTP: true, Tracer: tracer})
		_, spans := sink.Spans()
		b.ReportMetric(float64(spans)/float64(b.N), "spans/saga")
	})
}
