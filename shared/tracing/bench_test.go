package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// BenchmarkSpan is the cost of one exported span as Choreo makes them (a
// child of a remote parent, one attribute), from its start to its export
// over OTLP/HTTP to a receiver that discards it, through the SDK's batch
// span processor as FromEnv sets it up. cpu-ns/span is the process's CPU time (every
// goroutine: the exporter's, the receiver's, the runtime's) per span.
//
// "paced" makes spans as a service does under load: 16 goroutines, each
// starting a span every 2 ms or so (8,000 spans/s), so that the export
// goroutine sleeps between spans; "tight" makes them back to back. "none"
// is the pacing alone, to subtract.
func BenchmarkSpan(b *testing.B) {
	for _, proc := range []string{"none", "sdk"} {
		for _, pace := range []string{"tight", "paced"} {
			b.Run(proc+"/"+pace, func(b *testing.B) { benchSpan(b, proc, pace == "paced") })
		}
	}
}

func benchSpan(b *testing.B, proc string, paced bool) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	// A queue that holds every span of the run: none is dropped.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(1<<20)), sdktrace.WithIDGenerator(idGenerator{}))
	defer tp.Shutdown(context.Background())
	tr := New(tp)
	parent := Context{Parent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}.Into(context.Background())
	span := func() {
		if proc == "none" { // the pacing's own cost
			return
		}
		_, span := tr.Start(parent, "handle OrderPlaced", trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(attribute.String("messaging.message.id", "0193b6f4-8a3e-7c4d-9b1a-2f6e8d0c4a51")))
		span.End()
	}
	before := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	if !paced {
		for b.Loop() {
			span()
		}
	} else {
		const workers = 16
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < b.N; i += workers {
					span()
					time.Sleep(2 * time.Millisecond)
				}
			})
		}
		wg.Wait()
	}
	if err := tp.ForceFlush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-before)/float64(b.N), "cpu-ns/span")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
