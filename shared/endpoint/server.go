package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/shared/metrics"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nuid"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// DefaultConcurrency is the worker pool size when Config.Concurrency is zero.
const DefaultConcurrency = 64

// Config configures a Server.
type Config struct {
	// Name is the micro service name ("order"): letters, digits, '-' and '_'.
	Name string
	// Version is the service's semantic version; default "1.0.0".
	Version string
	// Description shows in `nats micro info`.
	Description string
	// Concurrency is how many requests, over all endpoints, are handled at
	// once; default 64. Further requests wait in their subscription's
	// pending queue.
	Concurrency int
	// Logger receives one line per failed request; default: none.
	Logger zerolog.Logger
	// RequestTimeout is the deadline of each request's context; default 10s.
	RequestTimeout time.Duration
	// Metrics, if set, counts requests by endpoint and reply code and
	// times them from arrival to reply.
	Metrics *metrics.Service
	// Tracer gives each request a span named after its subject, continuing
	// the request's traceparent header if it has one. Nil: tracing off (a
	// request without a trace context still gets trace ids).
	Tracer *tracing.Tracer
	// Partition is the service instance's partition, for a partitioned
	// service: requests are routed to the partition that owns their key
	// (see RouteBy, Gather), and handlers find it in their ctx
	// (partition.From). Default: the whole.
	Partition partition.Partition
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// semverRE is micro's (and semver.org's) version pattern.
	semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
)

// Validate reports every problem with the config at once.
func (c Config) Validate() error {
	var errs []error
	if !nameRE.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("name %q must match %s", c.Name, nameRE))
	}
	if c.Version != "" && !semverRE.MatchString(c.Version) {
		errs = append(errs, fmt.Errorf("version %q is not a semantic version", c.Version))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d must not be negative", c.Concurrency))
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("request timeout %s must not be negative", c.RequestTimeout))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Version == "" {
		c.Version = "1.0.0"
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	return c
}

// Server is a NATS micro service (the micro protocol: $SRV.PING, $SRV.INFO
// and $SRV.STATS, endpoints in queue group "q") whose endpoints run on a
// bounded worker pool.
//
// micro's own service delivers each endpoint's requests one after another
// on one goroutine, so a handler that waits for a bbolt fsync would hold up
// every request behind it; handing the request to a worker and returning
// would leave micro's statistics measuring the hand-off and missing every
// error reply. A Server therefore speaks the protocol itself, with micro's
// types: its subscription hands each request to a worker (waiting for a
// free one when all Config.Concurrency are busy), and the worker decodes,
// handles, replies and records the request in the statistics that `nats
// micro stats` shows: requests, error replies (any 4xx or 5xx), the last
// error, and the time from arrival to reply.
type Server struct {
	nc      *nats.Conn
	log     zerolog.Logger
	timeout time.Duration
	metrics *metrics.Service
	tracer  *tracing.Tracer
	part    partition.Partition
	slots   chan struct{}

	identity  micro.ServiceIdentity
	desc      string
	started   time.Time
	endpoints []*served

	mu      sync.Mutex
	idle    sync.Cond // signalled when active drops to 0
	active  int       // requests handed over and not yet answered
	taken   uint64    // requests ever handed over
	stopped bool
	subs    []*nats.Subscription // the endpoints'
	verbs   []*nats.Subscription // $SRV.*

	stopOnce sync.Once
	stopErr  error
}

// served is one endpoint and its statistics.
type served struct {
	Endpoint
	stats endpointStats
}

// queueGroup is micro's default queue group: instances of a service share
// the requests.
const queueGroup = micro.DefaultQueueGroup

// Start registers the endpoints as the micro service cfg.Name on nc and
// starts serving them.
func Start(nc *nats.Conn, cfg Config, endpoints ...Endpoint) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("endpoint config: %w", err)
	}
	if err := checkEndpoints(endpoints); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Server{
		nc:       nc,
		log:      cfg.Logger,
		timeout:  cfg.RequestTimeout,
		metrics:  cfg.Metrics,
		tracer:   cfg.Tracer,
		part:     cfg.Partition,
		slots:    make(chan struct{}, cfg.Concurrency),
		identity: micro.ServiceIdentity{Name: cfg.Name, ID: nuid.Next(), Version: cfg.Version, Metadata: map[string]string{}},
		desc:     cfg.Description,
		started:  time.Now().UTC(),
	}
	s.idle.L = &s.mu
	if s.part.Count == 0 {
		s.part = partition.Whole
	}
	for _, e := range endpoints {
		ep := &served{Endpoint: e}
		sub, err := nc.QueueSubscribe(e.Subject, queueGroup, s.dispatch(ep, true))
		if err != nil {
			return nil, errors.Join(fmt.Errorf("add endpoint %s: %w", e.Subject, err), s.unsubscribe())
		}
		s.endpoints = append(s.endpoints, ep)
		s.subs = append(s.subs, sub)
		if s.part.Partitioned() && (e.route != "" || e.merge != nil) {
			// This partition's own subject: what other partitions hand it.
			sub, err := nc.QueueSubscribe(PartitionSubject(e.Subject, s.part.Index), queueGroup, s.dispatch(ep, false))
			if err != nil {
				return nil, errors.Join(fmt.Errorf("add endpoint %s: %w", e.Subject, err), s.unsubscribe())
			}
			s.subs = append(s.subs, sub)
		}
	}
	for verb, answer := range map[micro.Verb]func() any{
		micro.PingVerb:  func() any { return micro.Ping{ServiceIdentity: s.identity, Type: micro.PingResponseType} },
		micro.InfoVerb:  func() any { return s.Info() },
		micro.StatsVerb: func() any { return s.Stats() },
	} {
		for _, subject := range []struct{ kind, id string }{{"", ""}, {cfg.Name, ""}, {cfg.Name, s.identity.ID}} {
			subj, err := micro.ControlSubject(verb, subject.kind, subject.id)
			if err == nil {
				var sub *nats.Subscription
				sub, err = nc.Subscribe(subj, func(m *nats.Msg) {
					body, _ := json.Marshal(answer())
					if err := m.Respond(body); err != nil {
						s.log.Debug().Err(err).Str(keySubject, m.Subject).Msg("monitoring reply not sent")
					}
				})
				s.verbs = append(s.verbs, sub)
			}
			if err != nil {
				return nil, errors.Join(fmt.Errorf("add %s handler: %w", verb, err), s.unsubscribe())
			}
		}
	}
	return s, nil
}

func (s *Server) unsubscribe() error {
	var errs []error
	for _, sub := range append(s.subs, s.verbs...) {
		if sub != nil {
			if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Info is the service's $SRV.INFO answer.
func (s *Server) Info() micro.Info {
	eps := make([]micro.EndpointInfo, len(s.endpoints))
	for i, e := range s.endpoints {
		eps[i] = micro.EndpointInfo{Name: e.Name, Subject: e.Subject, QueueGroup: queueGroup}
	}
	return micro.Info{ServiceIdentity: s.identity, Type: micro.InfoResponseType, Description: s.desc, Endpoints: eps}
}

// Stats is the service's $SRV.STATS answer: each endpoint's requests,
// error replies and time from arrival to reply.
func (s *Server) Stats() micro.Stats {
	st := micro.Stats{ServiceIdentity: s.identity, Type: micro.StatsResponseType, Started: s.started,
		Endpoints: make([]*micro.EndpointStats, len(s.endpoints))}
	for i, e := range s.endpoints {
		es := e.stats.snapshot()
		es.Name, es.Subject, es.QueueGroup = e.Name, e.Subject, queueGroup
		st.Endpoints[i] = &es
	}
	return st
}

func checkEndpoints(endpoints []Endpoint) error {
	var errs []error
	subjects := make(map[string]bool, len(endpoints))
	for _, e := range endpoints {
		switch {
		case e.Subject == "":
			errs = append(errs, fmt.Errorf("endpoint %q has no subject", e.Name))
		case subjects[e.Subject]:
			errs = append(errs, fmt.Errorf("endpoint subject %q is used twice", e.Subject))
		}
		subjects[e.Subject] = true
		if !nameRE.MatchString(e.Name) {
			errs = append(errs, fmt.Errorf("endpoint %q: name %q must match %s", e.Subject, e.Name, nameRE))
		}
		if e.Handler == nil && e.serve == nil {
			errs = append(errs, fmt.Errorf("endpoint %q has no handler", e.Subject))
		}
	}
	return errors.Join(errs...)
}

// dispatch returns the subscription handler of e: it takes a worker slot
// and hands the request over. On the contract's subject (routed) a
// partitioned service first routes the request (see partition.go); on a
// partition's own subject it answers it there.
func (s *Server) dispatch(e *served, routed bool) nats.MsgHandler {
	return func(m *nats.Msg) {
		if routed && s.forward(e, m) {
			return
		}
		gather := routed && s.part.Partitioned() && e.merge != nil
		arrived := time.Now()
		req := &request{nc: s.nc, subject: m.Subject, reply: m.Reply, data: m.Data, headers: micro.Headers(m.Header)}
		s.mu.Lock()
		s.active++
		s.taken++
		s.mu.Unlock()
		s.slots <- struct{}{}
		go func() {
			defer s.release()
			ctx, cancel := context.WithTimeout(partition.With(s.log.WithContext(context.Background()), s.part), s.timeout)
			defer cancel()
			// The span is named after the subject; the service is the
			// resource's. Attributes cost on every request: only an error
			// reply's status is added.
			ctx, span := s.tracer.Start(tracing.FromHeader(m.Header).Into(ctx), e.Subject,
				trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(arrived))
			if gather {
				s.gather(ctx, e, req)
			} else {
				s.run(ctx, &e.Endpoint, req)
			}
			took := time.Since(arrived)
			status, failure := req.outcome()
			e.stats.record(took, failure)
			s.metrics.Request(e.Subject, status, took)
			if span.IsRecording() {
				if status != 200 {
					span.SetAttributes(attribute.Int("rpc.response.status_code", status))
				}
				if status >= 500 {
					span.SetStatus(codes.Error, failure)
				}
				span.End()
			}
		}()
	}
}

// run serves one request on a worker. Endpoints made by New recover their
// handler's panics themselves; this recovers any other, so that a bad
// handler never takes the process down.
func (s *Server) run(ctx context.Context, e *Endpoint, req *request) {
	defer func() {
		if r := recover(); r != nil {
			perr := &panicError{value: r, stack: debug.Stack()}
			ctx := s.log.With().Str(keySubject, req.Subject()).Str(keyTraceID, tracing.TraceID(ctx)).Logger().WithContext(ctx)
			if req.answered() {
				zerolog.Ctx(ctx).Error().Str(keyPanic, fmt.Sprint(r)).Bytes(keyStack, perr.stack).Msg("handler panicked after replying")
				return
			}
			reply(ctx, req, nil, perr)
		}
	}()
	if e.serve != nil {
		e.serve(ctx, req)
		return
	}
	e.Handler.Handle(req)
}

func (s *Server) release() {
	<-s.slots
	s.mu.Lock()
	s.active--
	if s.active == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
}

// Stopped reports whether Stop was called.
func (s *Server) Stopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// Stop stops accepting requests (it drains the endpoint subscriptions and
// leaves the monitoring subjects) and returns once every request received
// so far has been answered. Handlers are not cancelled: they end by
// themselves or at their request deadline. Stop is idempotent.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		var errs []error
		for _, sub := range s.verbs {
			if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
				errs = append(errs, err)
			}
		}
		for _, sub := range s.subs {
			if err := sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
				errs = append(errs, fmt.Errorf("drain %s: %w", sub.Subject, err))
			}
		}
		s.stopErr = errors.Join(errs...)
		// A drained subscription delivers what it holds, then closes.
		deadline := time.Now().Add(s.timeout)
		for _, sub := range s.subs {
			for sub.IsValid() && s.nc.IsConnected() && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
		for {
			s.mu.Lock()
			for s.active > 0 {
				s.idle.Wait()
			}
			taken := s.taken
			s.mu.Unlock()
			// Requests the NATS server sent before it processed the
			// unsubscribe may still be on their way. A round trip lets
			// them through; if one came, wait again.
			if !s.nc.IsConnected() || s.nc.FlushTimeout(time.Second) != nil {
				return
			}
			s.mu.Lock()
			done := s.active == 0 && s.taken == taken
			s.mu.Unlock()
			if done {
				return
			}
		}
	})
	return s.stopErr
}

// endpointStats are an endpoint's processing statistics.
type endpointStats struct {
	mu   sync.Mutex
	n    uint64
	errs uint64
	last string
	time time.Duration
}

func (st *endpointStats) record(d time.Duration, failure string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.n++
	st.time += d
	if failure != "" {
		st.errs++
		st.last = failure
	}
}

func (st *endpointStats) snapshot() micro.EndpointStats {
	st.mu.Lock()
	defer st.mu.Unlock()
	d := micro.EndpointStats{NumRequests: int(st.n), NumErrors: int(st.errs), LastError: st.last, ProcessingTime: st.time}
	if st.n > 0 {
		d.AverageProcessingTime = st.time / time.Duration(st.n)
	}
	return d
}

// statusOf turns a reply's error code ("404") into its status; 500 if it
// is not a number.
func statusOf(code string) int {
	n, err := strconv.Atoi(code)
	if err != nil || n < 100 || n > 599 {
		return 500
	}
	return n
}
