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
	"path/filepath"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/outbox"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Spec is what makes a service particular.
type Spec struct {
	// Name is the service's name: "order", "payment", …
	Name string
	// Stream is the stream the service owns and publishes to.
	Stream string
	// Registry knows every event type the service stores or consumes.
	Registry *envelope.Registry
	// Projections maintain the service's read models.
	Projections []eventstore.Projection
	// Endpoints returns the NATS micro endpoints, bound to the store.
	Endpoints func(store *eventstore.Store) []endpoint.Endpoint
	// Consumers returns the service's reactions to other streams; the host
	// fills in Service, Store and Logger.
	Consumers func(store *eventstore.Store) []consumer.Config
	// Tasks are background loops (a saga deadline scheduler, say); each runs
	// until its context ends.
	Tasks []func(ctx context.Context, store *eventstore.Store) error
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
}

// Run runs the service until ctx ends, then drains it and returns nil, or
// returns the error that stopped it from starting (a locked store, say).
func Run(ctx context.Context, spec Spec, opts Options) error {
	log := opts.Logger
	if opts.InboxRetention <= 0 {
		opts.InboxRetention = 7 * 24 * time.Hour
	}
	store, err := eventstore.Open(filepath.Join(opts.DataDir, spec.Name+".db"), eventstore.Options{
		Service: spec.Name, Registry: spec.Registry, Projections: spec.Projections,
		SnapshotEvery: opts.SnapshotEvery, Logger: &log,
	})
	if err != nil {
		return err
	}
	defer store.Close()

	nc, err := Connect(opts.NATSURL, spec.Name, log, opts.NATSOptions...)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(5*time.Second), jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}

	// Endpoints first: they only need the store, and micro's subscriptions
	// are replayed by the client when the connection comes up.
	var eps []endpoint.Endpoint
	if spec.Endpoints != nil {
		eps = spec.Endpoints(store)
	}
	srv, err := endpoint.Start(nc, endpoint.Config{Name: spec.Name, Version: "1.0.0",
		Description: "Choreo " + spec.Name + " service", Logger: log}, eps...)
	if err != nil {
		return fmt.Errorf("start endpoints: %w", err)
	}

	// Streams must exist before the relay publishes or consumers bind.
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := streams.Ensure(sctx, js)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			_ = srv.Stop()
			return nil
		}
		log.Warn().Err(err).Msg("cannot set up JetStream streams yet; retrying")
		if !sleep(ctx, time.Second) {
			_ = srv.Stop()
			return nil
		}
	}

	workCtx, stopWork := context.WithCancel(log.WithContext(context.WithoutCancel(ctx)))
	var wg sync.WaitGroup
	goRun := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(workCtx); err != nil && workCtx.Err() == nil {
				log.Error().Err(err).Str("component", name).Msg("component stopped")
			}
		}()
	}
	relay := &outbox.Relay{Store: store, JS: js, Stream: spec.Stream, Atomic: true, Logger: log.With().Str("component", "outbox").Logger()}
	goRun("outbox", relay.Run)
	var bound sync.WaitGroup
	if spec.Consumers != nil {
		for _, cc := range spec.Consumers(store) {
			cc.Service, cc.Store, cc.Logger = spec.Name, store, log
			bound.Add(1)
			cc.Bound = sync.OnceFunc(bound.Done)
			if opts.ConsumerTuning != nil {
				opts.ConsumerTuning(&cc)
			}
			goRun("consumer "+cc.Stream, func(ctx context.Context) error { return consumer.Run(ctx, js, cc) })
		}
	}
	for _, task := range spec.Tasks {
		goRun("task", func(ctx context.Context) error { return task(ctx, store) })
	}
	goRun("inbox pruner", func(ctx context.Context) error { return pruneInbox(ctx, store, opts.InboxRetention, log) })
	// Ready means serving and bound: every durable consumer exists.
	allBound := make(chan struct{})
	go func() { bound.Wait(); close(allBound) }()
	select {
	case <-allBound:
		log.Info().Str("nats_url", opts.NATSURL).Str("data_dir", opts.DataDir).Msg("service started")
		if opts.Ready != nil {
			close(opts.Ready)
		}
	case <-ctx.Done():
	}

	<-ctx.Done()
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
	log.Info().Msg("stopped")
	return nil
}

// Connect dials NATS and keeps retrying, in the background, for as long as
// the server is away: a service that cannot reach NATS keeps serving what it
// can and says so in its log; it never exits for that.
func Connect(url, name string, log zerolog.Logger, extra ...nats.Option) (*nats.Conn, error) {
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
		}),
		nats.ConnectHandler(func(nc *nats.Conn) {
			log.Info().Str("nats_url", nc.ConnectedUrl()).Msg("connected to NATS")
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
