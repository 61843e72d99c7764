// Package service runs one Choreo service process: it opens the service's
// event store, connects to NATS (retrying for as long as it takes), makes
// sure the streams exist, and then runs the outbox relay, the consumers, the
// NATS micro endpoints and any background tasks until its context ends; then
// it drains them in order and closes the store.
//
// A service's own package only declares what is particular to it (its
// registry, projections, endpoints, reactions and tasks) in a [Spec].
package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventschema"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/health"
	"github.com/choreo-dev/choreo/shared/metrics"
	"github.com/choreo-dev/choreo/shared/outbox"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/saga"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Spec is what makes a service particular.
type Spec struct {
	// Saga declares the service's part in the saga: its name (which names
	// its stream, subjects and durable consumers), the events it publishes
	// and its reactions. The consumers are derived from it.
	Saga saga.Service
	// Registry knows every event type the service stores or hears: its own
	// public and private events and the public events it reacts to.
	Registry *envelope.Registry
	// Schemas are the committed JSON Schemas of the events the service
	// publishes (its events package's embedded schemas/ folder), served on
	// "<name>.schemas".
	Schemas fs.FS
	// Projections maintain the service's read models.
	Projections []eventstore.Projection
	// Endpoints returns the NATS micro endpoints, bound to the store.
	Endpoints func(store *eventstore.Store) []endpoint.Endpoint
	// Tasks are background loops (a saga deadline scheduler, say); each runs
	// until its context ends.
	Tasks []func(ctx context.Context, store *eventstore.Store) error
	// HTTPAddr is where the service's HTTP endpoint (/metrics, /healthz,
	// /readyz) listens when CHOREO_HTTP_ADDR does not say: each service has
	// its own loopback port, so nothing is exposed beyond the machine by
	// default. Empty: off unless configured.
	HTTPAddr string
	// ConsumedProjections are read models of the other services' events
	// this one handles (a saga's timeline, say), applied in the handling
	// transaction; the events are kept so a rebuild restores them (see
	// eventstore.Tx.RecordConsumed).
	ConsumedProjections []eventstore.Projection
	// Observe, if set, is called once the store is open and before anything
	// runs: the service registers its own metrics and keeps the logger for
	// the lines it writes about its sagas.
	Observe func(Observation)
}

// Name is the service's name.
func (s Spec) Name() string { return s.Saga.Name }

// Validate checks the declaration against the registry.
func (s Spec) Validate() error {
	if s.Registry == nil {
		return errors.New("service: Spec.Registry is required")
	}
	return s.Saga.Validate(s.Registry)
}

// Describe returns the service's declaration as data.
func (s Spec) Describe() saga.Description { return s.Saga.Describe(s.Registry) }

// Consumers derives the service's consumers from its declaration
// (consumer.For), each dispatching an event to its reaction. Store and
// Logger are left for the host to fill in.
func (s Spec) Consumers() []consumer.Config { return s.ConsumersFor(partition.Whole) }

// ConsumersFor derives the consumers of partition p of the service
// (consumer.For: named after the service and the partition, "payment-p1",
// filtered to p's share of each source stream), letting pass, untouched, an
// event routed by keys that p does not own.
func (s Spec) ConsumersFor(p partition.Partition) []consumer.Config {
	out := consumer.For(s.Describe(), p)
	for i := range out {
		out[i].Handler = s.dispatch
		out[i].Accept = func(env envelope.Envelope, ev envelope.Event) bool {
			r, ok := s.Saga.Reaction(env.Type)
			return !ok || r.Accepts(p, ev)
		}
	}
	return out
}

// streamOwners are the services whose streams this one needs: its own, and
// those of the services it hears.
func (s Spec) streamOwners() []string {
	owners := []string{s.Name()}
	for _, src := range s.Describe().Sources() {
		if !slices.Contains(owners, src.Service) {
			owners = append(owners, src.Service)
		}
	}
	return owners
}

// dispatch hands an event to the reaction declared for its type.
func (s Spec) dispatch(ctx context.Context, tx *eventstore.Tx, env envelope.Envelope, ev envelope.Event) error {
	r, ok := s.Saga.Reaction(env.Type)
	if !ok {
		// The consumer's filter lets only declared types through; anything
		// else (a filter widened by hand) is not this service's business.
		return nil
	}
	if err := r.Handle(ctx, tx, env, ev, s.Registry); err != nil {
		return err
	}
	return tx.RecordConsumed(env, ev) // for the ConsumedProjections, if any
}

// Options are the deployment settings.
type Options struct {
	NATSURL string
	DataDir string
	Logger  zerolog.Logger
	// SnapshotEvery: see eventstore.Options.
	SnapshotEvery uint64
	// InboxRetention is how long a handled event id is remembered. Default
	// 7 days: far beyond any outbox replay (a relay republishes within
	// seconds of coming back) and JetStream's 2-minute duplicate window.
	InboxRetention time.Duration
	// Ready, if set, is closed once the endpoints serve and the consumers are
	// bound: tests wait on it.
	Ready chan<- struct{}
	// ConsumerTuning, if set, adjusts each consumer's config (tests shorten
	// backoffs).
	ConsumerTuning func(*consumer.Config)
	// NATSOptions are added to the connection's options.
	NATSOptions []nats.Option
	// Streams are the deployment's stream settings (replicas; partitions
	// default to Partition's count).
	Streams streams.Options
	// Partition is the instance's partition of a partitioned service (see
	// package partition): its own bbolt file (<name>-p<i>.db), its own
	// durable consumers, the events and requests whose keys it owns.
	// Default: the whole service.
	Partition partition.Partition
	// Checks, if set, receives the service's readiness checks (streams,
	// consumers, outbox); Run makes its own otherwise.
	Checks *health.Checks
	// ExternalProvisioning says the streams and durable consumers are
	// provisioned for the service (`choreo provision`, by an identity that
	// may): the service never creates or changes them, it only checks that
	// they exist, says on its readiness checks what is missing, and waits.
	// A service whose NATS identity may not create them needs it.
	ExternalProvisioning bool
	// HealEvery is how often the service checks that its streams exist on
	// the broker (and on every reconnect). Default 5s.
	HealEvery time.Duration
	// HTTPAddr is where /metrics, /healthz and /readyz are served (port 0
	// picks a free one). Empty or "off": no HTTP endpoint, and no metrics
	// are kept.
	HTTPAddr string
	// HTTPBound, if set, is told the address the HTTP endpoint listens on.
	HTTPBound func(addr string)
	// Tracer traces requests, commits, publishes and events handled. Nil:
	// tracing off (trace contexts are still carried, and made up where a
	// request has none).
	Tracer *tracing.Tracer
	// ObserveEvery is how often the dead letters are counted for the
	// metrics. Default 5s.
	ObserveEvery time.Duration
}

// Run runs the service until ctx ends, then drains it and returns nil, or
// returns the error that stopped it from starting (a locked store, say).
func Run(ctx context.Context, spec Spec, opts Options) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	name := spec.Name()
	log := opts.Logger
	if opts.InboxRetention <= 0 {
		opts.InboxRetention = 7 * 24 * time.Hour
	}
	if opts.HealEvery <= 0 {
		opts.HealEvery = 5 * time.Second
	}
	if opts.ObserveEvery <= 0 {
		opts.ObserveEvery = 5 * time.Second
	}
	if opts.Partition.Count == 0 {
		opts.Partition = partition.Whole
	}
	if opts.Streams.Partitions == 0 {
		opts.Streams.Partitions = opts.Partition.Count
	}
	if opts.Partition.Partitioned() {
		log = log.With().Str("partition", opts.Partition.String()).Logger()
	}
	var m *metrics.Service // nil: off
	if opts.HTTPAddr != "" && opts.HTTPAddr != HTTPOff {
		m = metrics.New(name)
	}
	storeOpts := eventstore.Options{
		Service: name, Registry: spec.Registry, Projections: spec.Projections, ConsumedProjections: spec.ConsumedProjections,
		SnapshotEvery: opts.SnapshotEvery, Logger: &log, Tracer: opts.Tracer,
	}
	if m != nil {
		storeOpts.CommitObserver = m.StoreCommit
	}
	store, err := eventstore.Open(filepath.Join(opts.DataDir, name+opts.Partition.Suffix()+".db"), storeOpts)
	if err != nil {
		return err
	}
	defer store.Close()

	checks := opts.Checks
	if checks == nil {
		checks = health.New(log)
	}
	if spec.Observe != nil {
		spec.Observe(Observation{Store: store, Registerer: m.Registerer(), Logger: log})
	}
	if m != nil {
		registerStoreGauges(m, store)
		m.Checks(checks)
		addr, stop, err := serveHTTP(opts.HTTPAddr, m, checks, log)
		if err != nil {
			return err
		}
		defer stop()
		if opts.HTTPBound != nil {
			opts.HTTPBound(addr)
		}
	}
	heal := &healer{store: store, name: name, owners: spec.streamOwners(), opts: opts.Streams,
		horizon: opts.InboxRetention, checks: checks, log: log, kick: make(chan struct{}, 1),
		external: opts.ExternalProvisioning}
	nc, err := Connect(opts.NATSURL, name, log, watchNATS(checks, heal.connected), opts.NATSOptions...)
	if err != nil {
		return err
	}
	defer nc.Close()
	failNATSOnLoss(nc, checks)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(5*time.Second), jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	heal.js = js

	// Endpoints first: they only need the store, and micro's subscriptions
	// are replayed by the client when the connection comes up.
	var eps []endpoint.Endpoint
	if spec.Endpoints != nil {
		eps = spec.Endpoints(store)
	}
	if spec.Schemas != nil {
		eps = append(eps, eventschema.Endpoint(name, spec.Schemas))
	}
	relay := &outbox.Relay{Store: store, JS: js, Stream: streams.Name(name), Atomic: true, Checks: checks,
		Tracer: opts.Tracer, Metrics: m, Logger: log.With().Str("component", "outbox").Logger()}
	eps = append(eps, parkedEndpoints(name, store, relay)...)
	srv, err := endpoint.Start(nc, endpoint.Config{Name: name, Version: "1.0.0",
		Description: "Choreo " + name + " service", Logger: log, Metrics: m, Tracer: opts.Tracer,
		Partition: opts.Partition}, eps...)
	if err != nil {
		return fmt.Errorf("start endpoints: %w", err)
	}

	// Streams must exist before the relay publishes or consumers bind. Not
	// yet? The "streams" check says why (once), and the healer retries.
	checks.Expect(checkStreams, "not set up yet")
	for !heal.heal(ctx) {
		if !sleep(ctx, time.Second) {
			_ = srv.Stop()
			return nil
		}
	}

	workCtx, stopWork := context.WithCancel(partition.With(log.WithContext(context.WithoutCancel(ctx)), opts.Partition))
	var wg sync.WaitGroup
	// A component that stops with an error (a consumer whose configuration
	// the server refuses, say) stops the service: exiting and saying why
	// beats staying "not ready" for ever.
	consumers := spec.ConsumersFor(opts.Partition)
	fatal := make(chan error, len(consumers)+len(spec.Tasks)+2)
	goRun := func(component string, fn func(context.Context) error, after func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(workCtx); err != nil && workCtx.Err() == nil {
				log.Error().Err(err).Str("component", component).Msg("component stopped")
				fatal <- fmt.Errorf("%s: %w", component, err)
			}
			if after != nil {
				after()
			}
		}()
	}
	goRun("outbox", relay.Run, nil)
	goRun("healer", func(ctx context.Context) error { return heal.run(ctx, opts.HealEvery) }, nil)
	if m != nil {
		goRun("dead letters", func(ctx context.Context) error { return refreshDeadLetters(ctx, js, name, m, opts.ObserveEvery) }, nil)
	}
	// Ready means serving and bound: every durable consumer exists. A
	// consumer that returns without binding (shutdown, an error) counts as
	// done too, so nothing waits on it for ever.
	var bound sync.WaitGroup
	for _, cc := range consumers {
		cc.Service, cc.Store, cc.Logger, cc.Checks = name, store, log, checks
		cc.Metrics, cc.Tracer = m, opts.Tracer
		cc.Horizon = opts.InboxRetention
		cc.Provisioned = opts.ExternalProvisioning
		cc.Partitions = opts.Streams.Partitions
		bound.Add(1)
		done := sync.OnceFunc(bound.Done)
		cc.Bound = done
		if opts.ConsumerTuning != nil {
			opts.ConsumerTuning(&cc)
		}
		goRun("consumer "+cc.Stream, func(ctx context.Context) error { return consumer.Run(ctx, js, cc) }, done)
	}
	for _, task := range spec.Tasks {
		goRun("task", func(ctx context.Context) error { return task(ctx, store) }, nil)
	}
	goRun("inbox pruner", func(ctx context.Context) error { return pruneInbox(ctx, store, opts.InboxRetention, log) }, nil)
	allBound := make(chan struct{})
	go func() { bound.Wait(); close(allBound) }()
	var runErr error
	select {
	case <-allBound:
		select {
		case runErr = <-fatal: // bound because it failed
		default:
			log.Info().Str("nats_url", opts.NATSURL).Str("data_dir", opts.DataDir).Msg("service started")
			if opts.Ready != nil {
				close(opts.Ready)
			}
		}
	case runErr = <-fatal:
	case <-ctx.Done():
	}
	if runErr == nil {
		select {
		case <-ctx.Done():
		case runErr = <-fatal:
		}
	}

	log.Info().Msg("shutting down: draining in-flight work")
	// Stop taking requests and let the handlers in flight commit and reply.
	if err := srv.Stop(); err != nil {
		log.Warn().Err(err).Msg("stop endpoints")
	}
	stopWork()
	wg.Wait()
	// One last attempt to publish what is queued; what is left stays on disk
	// (and nothing is tried without NATS: shutting down must stay quick).
	if nc.IsConnected() {
		fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = relay.Flush(fctx)
		cancel()
	}
	if err := nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		log.Debug().Err(err).Msg("drain")
	}
	if runErr != nil {
		log.Error().Err(runErr).Msg("stopped after a component failed")
		return runErr
	}
	log.Info().Msg("stopped")
	return nil
}

// Connect dials NATS and keeps retrying, in the background, for as long as
// the server is away: a service that cannot reach NATS keeps serving what it
// can and says so in its log; it never exits for that.
//
// connected, if set, is called on every (re)connection, after logging it.
func Connect(url, name string, log zerolog.Logger, connected func(*nats.Conn), extra ...nats.Option) (*nats.Conn, error) {
	if connected == nil {
		connected = func(*nats.Conn) {}
	}
	opts := []nats.Option{
		nats.Name("choreo-" + name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, 100*time.Millisecond),
		nats.ReconnectBufSize(64 << 20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn().Err(err).Msg("disconnected from NATS; reconnecting")
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info().Str("nats_url", nc.ConnectedUrl()).Msg("reconnected to NATS")
			connected(nc)
		}),
		nats.ConnectHandler(func(nc *nats.Conn) {
			log.Info().Str("nats_url", nc.ConnectedUrl()).Msg("connected to NATS")
			connected(nc)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			ev := log.Warn().Err(err)
			if sub != nil {
				ev = ev.Str("subject", sub.Subject)
			}
			ev.Msg("NATS error")
		}),
	}
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", url, err)
	}
	if !nc.IsConnected() {
		log.Warn().Str("nats_url", url).Msg("NATS not reachable yet; retrying in the background")
	}
	return nc, nil
}

func pruneInbox(ctx context.Context, store *eventstore.Store, retention time.Duration, log zerolog.Logger) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		total := 0
		for ctx.Err() == nil {
			n, err := store.PruneInbox(ctx, time.Now().Add(-retention), 1000)
			if err != nil {
				log.Warn().Err(err).Msg("prune inbox")
				break
			}
			total += n
			if n < 1000 {
				break
			}
		}
		if total > 0 {
			log.Info().Int("pruned", total).Msg("pruned old inbox entries")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
