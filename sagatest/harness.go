// Package sagatest is Choreo's end-to-end saga suite and its harness: an
// embedded JetStream server on file storage in a temp dir, and the four
// services running in process against it, each with its own bbolt file.
// Tests drive the stack only through the contract's subjects and check the
// contract's invariants through its public queries.
package sagatest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/inventory"
	"github.com/choreo-dev/choreo/order"
	"github.com/choreo-dev/choreo/payment"
	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/saga"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/choreo-dev/choreo/shipping"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Services are the four service names.
var Services = []string{"order", "payment", "inventory", "shipping"}

// StreamNames are the four services' event streams.
func StreamNames() []string {
	names := make([]string, len(Services))
	for i, svc := range Services {
		names[i] = streams.Name(svc)
	}
	return names
}

// Declarations are the four services' saga declarations, as data.
func Declarations() []saga.Description {
	s := &Stack{opts: Options{Countries: shipping.DefaultCountries}}
	out := make([]saga.Description, len(Services))
	for i, name := range Services {
		out[i] = s.Spec(name).Describe()
	}
	return out
}

// Options tune a Stack.
type Options struct {
	// SagaTimeout is the order service's deadline. Default 30s.
	SagaTimeout time.Duration
	// Countries are the shipping destinations served. Default the contract's.
	Countries []string
	// Logs, if true, writes the services' logs to the test log.
	Logs bool
	// AckWait, if set, replaces the consumers' AckWait (default 10s): how
	// long JetStream waits before redelivering a message whose delivery or
	// ack was lost, as happens when NATS itself restarts.
	AckWait time.Duration
	// Partitions, above 1, runs every service as that many partitions (see
	// package partition), each an instance of its own.
	Partitions int
	// Extra are more services to run beside the four — a service of your
	// own built on the kernel, say — started after them.
	Extra []service.Spec
	// HTTP serves each service's /metrics, /healthz and /readyz on a free
	// loopback port (see HTTPAddr), and so keeps its metrics.
	HTTP bool
	// Tracer, if set, gives each service its tracer (see Tracers).
	Tracer func(service string) *tracing.Tracer
	// StuckAfter is the order service's CHOREO_STUCK_AFTER. Default 10s.
	StuckAfter time.Duration
}

// Tracers returns tracers, one per service, each with its own resource
// (service.name) and all exporting to exp as spans end: an in-memory
// exporter (tracetest) sees every service's spans.
func Tracers(exp sdktrace.SpanExporter) func(service string) *tracing.Tracer {
	return func(name string) *tracing.Tracer {
		res := resource.NewSchemaless(attribute.String("service.name", name))
		return tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res)))
	}
}

// Stack is a running Choreo: NATS and the four services.
type Stack struct {
	t    testing.TB
	opts Options
	NATS *natstest.Server
	NC   *nats.Conn
	JS   jetstream.JetStream
	data string

	mu       sync.Mutex
	services map[string]*running
	http     map[string]string // service -> its HTTP endpoint's address
}

// running is a started service: its instances, one per partition.
type running struct {
	instances []*instance
}

type instance struct {
	id     string
	cancel context.CancelFunc
	done   chan error
	http   string
}

// Start starts NATS and all four services and waits until they serve.
func Start(t testing.TB, opts Options) *Stack {
	t.Helper()
	if opts.SagaTimeout <= 0 {
		opts.SagaTimeout = 30 * time.Second
	}
	if len(opts.Countries) == 0 {
		opts.Countries = shipping.DefaultCountries
	}
	if opts.Partitions == 0 {
		opts.Partitions = defaultPartitions(t)
	}
	s := &Stack{t: t, opts: opts, NATS: natstest.RunJetStream(t), data: t.TempDir(), services: map[string]*running{},
		http: map[string]string{}}
	s.NC = s.NATS.Connect(t)
	js, err := jetstream.New(s.NC)
	if err != nil {
		t.Fatal(err)
	}
	s.JS = js
	for _, name := range s.names() {
		s.StartService(name)
	}
	t.Cleanup(func() {
		for _, name := range s.names() {
			s.StopService(name)
		}
	})
	return s
}

// names are the services the stack runs: the four, then the extra ones.
func (s *Stack) names() []string {
	names := append([]string(nil), Services...)
	for _, e := range s.opts.Extra {
		names = append(names, e.Name())
	}
	return names
}

// Spec returns the service spec the stack runs for name.
func (s *Stack) Spec(name string) service.Spec {
	switch name {
	case "order":
		return order.Spec(order.Settings{SagaTimeout: s.opts.SagaTimeout, DeadlineTick: 100 * time.Millisecond, StuckAfter: s.opts.StuckAfter})
	case "payment":
		return payment.Spec()
	case "inventory":
		return inventory.Spec()
	case "shipping":
		return shipping.Spec(shipping.Settings{Countries: s.opts.Countries})
	}
	for _, e := range s.opts.Extra {
		if e.Name() == name {
			return e
		}
	}
	panic("sagatest: unknown service " + name)
}

// HTTPAddr is the address of the running service's HTTP endpoint (/metrics,
// /healthz, /readyz); "" unless Options.HTTP.
func (s *Stack) HTTPAddr(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.http[name]
}

// DataDir is where the services keep their bbolt files.
func (s *Stack) DataDir() string { return s.data }

// DBPath is a service's bbolt file.
func (s *Stack) DBPath(name string) string { return filepath.Join(s.data, name+".db") }

// StartService starts one service in process and waits until it serves.
func (s *Stack) StartService(name string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.services[name] != nil {
		s.t.Fatalf("sagatest: %s already running", name)
	}
	r := &running{}
	n := max(1, s.opts.Partitions)
	for i := range n {
		p := partition.Partition{Index: i, Count: n}
		r.instances = append(r.instances, s.startInstance(name, p))
		if s.opts.HTTP && i == 0 {
			s.http[name] = r.instances[0].http
		}
	}
	// Ready means the durable consumers exist on the server, so the next
	// service's stream updates cannot race their creation.
	s.services[name] = r
}

// startInstance starts one instance of a service, partition p, and waits
// until it serves.
func (s *Stack) startInstance(name string, p partition.Partition) *instance {
	s.t.Helper()
	id := name
	if p.Partitioned() {
		id = name + p.Suffix()
	}
	log := zerolog.Nop()
	if s.opts.Logs {
		log = zerolog.New(zerolog.NewTestWriter(s.t)).With().Str("service", id).Logger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	var httpAddr string
	bound := make(chan string, 1)
	if s.opts.HTTP {
		httpAddr = "127.0.0.1:0"
	}
	var tracer *tracing.Tracer
	if s.opts.Tracer != nil {
		tracer = s.opts.Tracer(name)
	}
	go func() {
		done <- service.Run(ctx, s.Spec(name), service.Options{
			NATSURL: s.NATS.URL(), DataDir: s.data, Logger: log, Ready: ready,
			HTTPAddr: httpAddr, HTTPBound: func(addr string) { bound <- addr }, Tracer: tracer,
			ObserveEvery: 100 * time.Millisecond,
			Partition:    p, Streams: streams.Options{Partitions: p.Count},
			NATSOptions: []nats.Option{nats.ReconnectWait(20 * time.Millisecond)},
			ConsumerTuning: func(c *consumer.Config) {
				// Short backoffs keep retry and dead-letter scenarios quick.
				c.Backoff, c.BackoffMax = 20*time.Millisecond, 200*time.Millisecond
				if s.opts.AckWait > 0 {
					c.AckWait = s.opts.AckWait
				}
			},
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		s.t.Fatalf("sagatest: %s did not start: %v", id, err)
	case <-time.After(30 * time.Second):
		cancel()
		s.t.Fatalf("sagatest: %s did not become ready", id)
	}
	in := &instance{id: id, cancel: cancel, done: done}
	if s.opts.HTTP {
		in.http = <-bound // bound before ready
	}
	return in
}

// StopService stops one service (a graceful drain of each of its
// instances) and waits for it.
func (s *Stack) StopService(name string) {
	s.mu.Lock()
	r := s.services[name]
	delete(s.services, name)
	s.mu.Unlock()
	if r == nil {
		return
	}
	for _, in := range r.instances {
		in.cancel()
		select {
		case err := <-in.done:
			if err != nil {
				s.t.Errorf("sagatest: %s stopped with %v", in.id, err)
			}
		case <-time.After(30 * time.Second):
			s.t.Errorf("sagatest: %s did not stop", in.id)
		}
	}
}

// RestartService stops and starts one service on the same data.
func (s *Stack) RestartService(name string) {
	s.t.Helper()
	s.StopService(name)
	s.StartService(name)
}

// Quiet returns nil once every durable consumer of every Choreo stream has
// caught up: no message left to deliver and none delivered but not yet
// acknowledged (a message waiting for a retry counts as unacknowledged).
// Since a consumer acknowledges only after committing, a quiet stack has
// applied every event published so far; wait for it (with Eventually) before
// asserting that something did not happen. It says nothing about events
// still in an outbox, and a stopped service's consumers keep it from being
// quiet.
func (s *Stack) Quiet() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range StreamNames() {
		st, err := s.JS.Stream(ctx, name)
		if err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
		l := st.ListConsumers(ctx)
		for info := range l.Info() {
			if info.NumPending > 0 || info.NumAckPending > 0 {
				return fmt.Errorf("consumer %s on %s: %d pending, %d unacknowledged",
					info.Name, name, info.NumPending, info.NumAckPending)
			}
		}
		if err := l.Err(); err != nil {
			return fmt.Errorf("list consumers of %s: %w", name, err)
		}
	}
	return nil
}

// defaultPartitions is CHOREO_SAGATEST_PARTITIONS, the partitions every
// suite's stack runs with unless its Options say (make test runs the suite a
// second time with 2), or 1.
func defaultPartitions(t testing.TB) int {
	v := os.Getenv("CHOREO_SAGATEST_PARTITIONS")
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 64 {
		t.Fatalf("CHOREO_SAGATEST_PARTITIONS=%q: want a number of partitions from 1 to 64", v)
	}
	return n
}
