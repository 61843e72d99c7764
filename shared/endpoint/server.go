package endpoint

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"
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
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Validate reports every problem with the config at once.
func (c Config) Validate() error {
	var errs []error
	if !nameRE.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("name %q must match %s", c.Name, nameRE))
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

// Server is a micro service whose endpoints run on a bounded worker pool.
//
// micro delivers each endpoint's requests one after another on one
// goroutine, so a handler that waits for a bbolt fsync would hold up every
// request behind it. A Server's micro handler only hands the request to a
// worker (waiting for a free one when all Config.Concurrency are busy) and
// returns; the worker decodes, handles and replies.
//
// Because the reply is sent after micro's handler returned, micro's own
// per-endpoint statistics see only the hand-off: `nats micro stats` counts
// requests, but its processing times and error counts are those of the
// hand-off. The real ones are in each endpoint's stats data (num_errors,
// last_error, processing_time, average_processing_time).
type Server struct {
	svc     micro.Service
	nc      *nats.Conn
	log     zerolog.Logger
	timeout time.Duration
	slots   chan struct{}
	stats   map[string]*endpointStats // by subject

	mu     sync.Mutex
	idle   sync.Cond // signalled when active drops to 0
	active int       // requests handed over and not yet answered
	taken  uint64    // requests ever handed over

	stopOnce sync.Once
	stopErr  error
}

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
		nc:      nc,
		log:     cfg.Logger,
		timeout: cfg.RequestTimeout,
		slots:   make(chan struct{}, cfg.Concurrency),
		stats:   make(map[string]*endpointStats, len(endpoints)),
	}
	s.idle.L = &s.mu
	for _, e := range endpoints {
		s.stats[e.Subject] = &endpointStats{}
	}
	svc, err := micro.AddService(nc, micro.Config{
		Name:        cfg.Name,
		Version:     cfg.Version,
		Description: cfg.Description,
		StatsHandler: func(e *micro.Endpoint) any {
			if st := s.stats[e.Subject]; st != nil {
				return st.snapshot()
			}
			return nil
		},
		ErrorHandler: func(_ micro.Service, err *micro.NATSError) {
			s.log.Error().Err(err).Str(keySubject, err.Subject).Msg("endpoint subscription error")
		},
	})
	if err != nil {
		return nil, fmt.Errorf("add service %s: %w", cfg.Name, err)
	}
	s.svc = svc
	for _, e := range endpoints {
		if err := svc.AddEndpoint(e.Name, s.dispatch(e), micro.WithEndpointSubject(e.Subject)); err != nil {
			return nil, errors.Join(fmt.Errorf("add endpoint %s: %w", e.Subject, err), svc.Stop())
		}
	}
	return s, nil
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

// dispatch returns the micro handler of e: it takes a worker slot and hands
// the request over.
func (s *Server) dispatch(e Endpoint) micro.Handler {
	st := s.stats[e.Subject]
	return micro.HandlerFunc(func(mreq micro.Request) {
		req := detach(s.nc, mreq)
		s.mu.Lock()
		s.active++
		s.taken++
		s.mu.Unlock()
		s.slots <- struct{}{}
		go func() {
			defer s.release()
			ctx, cancel := context.WithTimeout(s.log.WithContext(context.Background()), s.timeout)
			defer cancel()
			start := time.Now()
			s.run(ctx, e, req)
			st.record(time.Since(start), req.failure())
		}()
	})
}

// run serves one request on a worker. Endpoints made by New recover their
// handler's panics themselves; this recovers any other, so that a bad
// handler never takes the process down.
func (s *Server) run(ctx context.Context, e Endpoint, req *request) {
	defer func() {
		if r := recover(); r != nil {
			perr := &panicError{value: r, stack: debug.Stack()}
			ctx := s.log.With().Str(keySubject, req.Subject()).Logger().WithContext(ctx)
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

// Stop stops accepting requests (micro's Stop drains the endpoint
// subscriptions) and returns once every request received so far has been
// answered. Handlers are not cancelled: they end by themselves or at their
// request deadline. Stop is idempotent.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.stopErr = s.svc.Stop()
		for {
			s.mu.Lock()
			for s.active > 0 {
				s.idle.Wait()
			}
			taken := s.taken
			s.mu.Unlock()
			// Requests the NATS server sent before it processed the
			// unsubscribe may still wait in a subscription's pending queue.
			// A round trip lets them through; if one came, wait again.
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

// Service returns the underlying micro service, e.g. for its Info or Stats.
func (s *Server) Service() micro.Service { return s.svc }

// endpointStats are an endpoint's real processing statistics.
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

// statsData is an endpoint's stats data in `nats micro stats --json`.
type statsData struct {
	NumRequests           uint64        `json:"num_requests"`
	NumErrors             uint64        `json:"num_errors"`
	LastError             string        `json:"last_error,omitempty"`
	ProcessingTime        time.Duration `json:"processing_time"`
	AverageProcessingTime time.Duration `json:"average_processing_time"`
}

func (st *endpointStats) snapshot() statsData {
	st.mu.Lock()
	defer st.mu.Unlock()
	d := statsData{NumRequests: st.n, NumErrors: st.errs, LastError: st.last, ProcessingTime: st.time}
	if st.n > 0 {
		d.AverageProcessingTime = st.time / time.Duration(st.n)
	}
	return d
}
