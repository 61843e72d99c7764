package tracing

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Provider is a process's tracing: its Tracer and what must be flushed on
// exit.
type Provider struct {
	// Tracer is nil when tracing is off.
	Tracer *Tracer
	sdk    *sdktrace.TracerProvider
}

// Enabled reports whether spans are exported.
func (p *Provider) Enabled() bool { return p != nil && p.sdk != nil }

// Shutdown exports the spans still queued and stops the exporter.
func (p *Provider) Shutdown(ctx context.Context) error {
	if !p.Enabled() {
		return nil
	}
	return p.sdk.Shutdown(ctx)
}

// FromEnv sets up a service's tracing from the standard OpenTelemetry
// variables. Tracing is on when OTEL_TRACES_EXPORTER is "otlp", or when it
// is unset and OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; it is off when
// OTEL_TRACES_EXPORTER is "none", OTEL_SDK_DISABLED is "true", or nothing is
// configured — unlike the SDK's default, which would send to localhost:4318
// whether or not anything listens there. Spans go, in batches, to the OTLP
// HTTP exporter, which reads its own variables (endpoint, headers,
// compression, timeout, certificates); OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG choose the sampler (default: parent-based, always
// on), OTEL_BSP_* tune the batching, and OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES the resource (service.name defaults to the
// service's name). Export failures are logged to log, at most once a minute
// each.
func FromEnv(ctx context.Context, service string, getenv func(string) string, log zerolog.Logger) (*Provider, error) {
	on, err := exporting(getenv)
	if err != nil || !on {
		return &Provider{}, err
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil && res == nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	otel.SetErrorHandler(&errorLog{log: log, seen: map[string]time.Time{}})
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithIDGenerator(idGenerator{}))
	return &Provider{Tracer: New(tp), sdk: tp}, nil
}

// exporting decides from the environment whether spans are exported, and
// refuses what this build cannot do.
func exporting(getenv func(string) string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false, nil
	}
	var errs []error
	on := false
	switch v := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); v {
	case "":
		on = getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	case "none":
	case "otlp":
		on = true
	default:
		errs = append(errs, fmt.Errorf("OTEL_TRACES_EXPORTER: %q is not supported: otlp or none", v))
	}
	proto := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if on && proto != "" && proto != "http/protobuf" {
		errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is not supported: http/protobuf", proto))
	}
	return on, errors.Join(errs...)
}

// errorLog logs the SDK's errors (an exporter that cannot reach its
// collector, say) as zerolog lines, each distinct message at most once a
// minute.
type errorLog struct {
	log  zerolog.Logger
	mu   sync.Mutex
	seen map[string]time.Time
}

func (e *errorLog) Handle(err error) {
	msg := err.Error()
	e.mu.Lock()
	last, ok := e.seen[msg]
	now := time.Now()
	if ok && now.Sub(last) < time.Minute {
		e.mu.Unlock()
		return
	}
	e.seen[msg] = now
	e.mu.Unlock()
	e.log.Warn().Err(err).Str("component", "tracing").Msg("trace export failed")
}

// idGenerator makes trace and span ids from the runtime's per-thread
// random source: the SDK's default generator serialises every span start on
// one mutex, a contention point under load. Ids need to be unique, not
// unpredictable.
type idGenerator struct{}

func (idGenerator) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	sc := NewRoot()
	return sc.TraceID(), sc.SpanID()
}

func (idGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.BigEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}
