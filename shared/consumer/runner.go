package consumer

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/failpoint"
	"github.com/choreo-dev/choreo/shared/fault"
	"github.com/choreo-dev/choreo/shared/health"
	"github.com/choreo-dev/choreo/shared/metrics"
	"github.com/choreo-dev/choreo/shared/stages"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Handler applies one event's effects inside the transaction the runner
// opened. It must only change the store through tx: the runner commits the
// effects and the inbox mark together, or neither.
type Handler func(ctx context.Context, tx *eventstore.Tx, env envelope.Envelope, ev envelope.Event) error

// Config describes one consumer.
type Config struct {
	// Service is the consuming service: the durable consumer's name (unless
	// Durable says otherwise) and the second token of its dead letters'
	// subjects.
	Service string
	// Durable is the durable consumer's name; default Service. A partition
	// of a partitioned service has its own ("payment-p1").
	Durable string
	// Stream is the stream consumed.
	Stream string
	// Subjects filter the stream to the events the service reacts to.
	Subjects []string
	Store    *eventstore.Store
	Handler  Handler
	// Accept, if set, says whether this consumer handles a delivered event at
	// all: one it does not accept (a partition's share of another's keys)
	// is acknowledged at once, with no transaction.
	Accept func(env envelope.Envelope, ev envelope.Event) bool
	// MaxDeliver is how many times a handler may fail on a message for an
	// unknown reason (a bug, a panic) before the message is dead-lettered.
	// Default 5. Poison is dead-lettered at once; transient failures (the
	// service's own infrastructure) are retried for as long as they last and
	// never count (see package fault).
	MaxDeliver int
	// Backoff is the delay before the second delivery, doubled for each
	// further one up to BackoffMax. Defaults 200ms and 5s.
	Backoff, BackoffMax time.Duration
	// Workers handle different orders concurrently. Default 32.
	Workers int
	// PerKey bounds how many messages of one order wait in memory; more are
	// set aside in the store (see overflow), so a hot order never holds up
	// the others. Default 64.
	PerKey int
	// Overflow bounds how many messages may be set aside in the store, over
	// all orders; beyond it they are handed back to JetStream for later.
	// Default 100,000; negative: none is set aside.
	Overflow int
	// Heal is how often the runner checks that its durable consumer still
	// exists on the server, re-creating it if it was deleted (or its stream
	// wiped). Default 5s.
	Heal time.Duration
	// Horizon, when the durable has to be created, starts it at that long
	// ago rather than at the start of the stream: a consumer re-created after
	// it was deleted replays only what its inbox can still recognise.
	// Default 7 days; negative starts at the beginning.
	Horizon time.Duration
	// Partitions is how many partitions the deployment's streams store
	// their subjects in (see streams.Options): a delivered subject carries
	// the partition of its id as a last token then. Default 1.
	Partitions int
	// Checks, if set, hears the consumer's readiness ("consumer:<stream>"):
	// failing while it cannot bind or while its handler meets transient
	// faults, passing once bound and once a message is handled.
	Checks *health.Checks
	// AckWait is how long JetStream waits for an ack before redelivering.
	// Default 10s: a message that was delivered just before nats-server
	// went down comes back after it, so it bounds how long such a saga
	// stalls. A handler gets at most half of it; a message that waited in
	// a worker's queue for a third of it is marked in progress first.
	AckWait time.Duration
	// MaxAckPending bounds unacknowledged messages. Default 1024.
	MaxAckPending int
	// Provisioned says the durable consumer is provisioned for the service
	// (`choreo provision`): the runner only looks it up, never creates or
	// updates it, and while it is missing says so on its check and waits.
	Provisioned bool
	// Bound, if set, is called once the durable consumer exists on the
	// server: the service reports ready only after all are bound.
	Bound func()
	// Metrics, if set, counts each delivery by event type and outcome, its
	// time and the event's delivery lag, and the durable's backlog.
	Metrics *metrics.Service
	// Tracer gives each delivery a span ("handle <type>") continuing the
	// event's traceparent header: the appended events carry it on. Nil:
	// tracing off (the trace context is still carried).
	Tracer *tracing.Tracer
	Logger zerolog.Logger
}

func (c *Config) defaults() error {
	var missing []string
	if c.Service == "" {
		missing = append(missing, "Service")
	}
	if c.Stream == "" {
		missing = append(missing, "Stream")
	}
	if c.Store == nil {
		missing = append(missing, "Store")
	}
	if c.Handler == nil {
		missing = append(missing, "Handler")
	}
	if len(missing) > 0 {
		return fmt.Errorf("consumer: %s required", strings.Join(missing, ", "))
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if c.Backoff <= 0 {
		c.Backoff = 200 * time.Millisecond
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.PerKey <= 0 {
		c.PerKey = 64
	}
	if c.Overflow == 0 {
		c.Overflow = DefaultOverflow
	}
	if c.Heal <= 0 {
		c.Heal = 5 * time.Second
	}
	if c.Horizon == 0 {
		c.Horizon = DefaultHorizon
	}
	return nil
}

func (c Config) durable() string {
	if c.Durable != "" {
		return c.Durable
	}
	return c.Service
}

// ConsumerConfig is the JetStream durable consumer the runner binds to.
// MaxDeliver is left unlimited on the server on purpose: the runner decides
// when a message is dead-lettered, and if writing the dead letter fails the
// message must come back, not be dropped by the server.
//
// Unset AckWait and MaxAckPending take their defaults, so that the config
// derived by For (provisioning's) is the one the runner binds with.
func (c Config) ConsumerConfig() jetstream.ConsumerConfig {
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	cc := jetstream.ConsumerConfig{
		Durable:       c.durable(),
		Description:   "Choreo " + c.Service + " service",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: c.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if len(c.Subjects) == 1 {
		cc.FilterSubject = c.Subjects[0]
	} else {
		cc.FilterSubjects = c.Subjects
	}
	return cc
}

// Run binds the durable consumer (creating it if missing, updating it
// otherwise) and handles messages until ctx is cancelled; then it stops
// fetching, lets in-flight handlers finish and returns nil. Messages fetched
// but not started are handed back for prompt redelivery. While it runs it
// re-binds whenever the durable disappears (deleted, or its stream wiped).
// It returns an error only when the server refuses the consumer's
// configuration: no retry can fix that.
func Run(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	r := &runner{cfg: cfg, js: js, reg: cfg.Store.Registry(), check: "consumer:" + cfg.Stream}
	r.log = cfg.Logger.With().Str("consumer", cfg.Service).Str("stream", cfg.Stream).Logger()
	cfg.Checks.Expect(r.check, "not bound yet")
	r.sched = newScheduler(cfg.PerKey)
	if cfg.Overflow > 0 {
		r.over = newOverflow(cfg.Store, r.sched, cfg.Service, cfg.Stream+"/"+cfg.durable(), cfg.PerKey, cfg.Overflow, r.log,
			func(n int) { cfg.Metrics.ConsumerSetAside(cfg.Stream, cfg.Service, n) })
		if err := r.over.load(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("consumer %s on %s: events set aside: %w", cfg.Service, cfg.Stream, err)
		}
		ictx, stopOverflow := context.WithCancel(context.WithoutCancel(ctx))
		var owg sync.WaitGroup
		owg.Go(func() { r.over.run(ictx) })
		// Stopped after the workers: they may still settle rows.
		defer func() { stopOverflow(); owg.Wait() }()
	}
	var wg sync.WaitGroup
	// Handlers get their own context: a shutdown lets them finish and commit
	// rather than abandoning work half-way through an fsync.
	hctx := context.WithoutCancel(ctx)
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				key, item, ok := r.sched.next()
				if !ok {
					return
				}
				stored, _ := item.msg.(*storedMsg)
				switch {
				case ctx.Err() != nil:
					// Shutting down: hand it back for prompt redelivery.
					_ = item.msg.Nak()
				case stored != nil && stored.stale():
					// A row before it was handed back: it waits its turn.
					stored.putBack()
				default:
					if time.Since(item.at) > r.cfg.AckWait/3 {
						// Long in the queue behind a busy order: keep
						// JetStream from redelivering it now that it is
						// about to be handled.
						_ = item.msg.InProgress()
					}
					if stages.On(item.msg.Subject()) {
						stages.Mark(r.cfg.Service, stages.ConsumerStart, item.msg.Subject(), time.Now())
					}
					r.handle(hctx, item.msg)
				}
				r.sched.done(key)
				if r.over != nil && r.over.holds(key) {
					r.over.poke() // its in-memory queue may be empty now: feed it
				}
			}
		}()
	}
	defer func() {
		r.sched.close()
		wg.Wait()
	}()
	bound := false
	for ctx.Err() == nil {
		cons, err := r.bind(ctx)
		if err != nil {
			return err
		}
		if cons == nil {
			return nil // cancelled
		}
		if !bound && cfg.Bound != nil {
			cfg.Bound()
		}
		bound = true
		// Bound is ready: a durable that was missing (not provisioned yet,
		// say) is no longer reported missing in a quiet system.
		cfg.Checks.Pass(r.check)
		r.consume(ctx, cons)
	}
	return nil
}

type runner struct {
	cfg   Config
	js    jetstream.JetStream
	reg   *envelope.Registry
	log   zerolog.Logger
	sched *scheduler
	over  *overflow // nil if Overflow is negative
	check string    // its health check's name
	// spanNames caches the span name of each event type.
	spanNames sync.Map
}

// bind returns the durable consumer, creating it if it does not exist (from
// Horizon ago) and updating it to the current configuration otherwise,
// retrying until it can. It returns nil, nil when ctx ends first, and an
// error only if the server refuses the configuration.
func (r *runner) bind(ctx context.Context) (jetstream.Consumer, error) {
	for {
		cons, err := r.bindOnce(ctx)
		if err == nil {
			return cons, nil
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		if refused(err) {
			r.cfg.Checks.Fail(r.check, "configuration refused by the server", err)
			return nil, fmt.Errorf("consumer %s on %s: %w", r.cfg.Service, r.cfg.Stream, err)
		}
		reason := fault.Reason(err)
		switch {
		case errors.Is(err, ErrNotProvisioned):
			reason = "durable " + r.cfg.Service + " on " + r.cfg.Stream + " missing: provisioning is external, run `choreo provision`"
		case errors.Is(err, jetstream.ErrStreamNotFound):
			reason = "stream " + r.cfg.Stream + " missing"
		}
		r.cfg.Checks.Fail(r.check, reason, err)
		if !sleep(ctx, time.Second) {
			return nil, nil
		}
	}
}

func (r *runner) bindOnce(ctx context.Context) (jetstream.Consumer, error) {
	if r.cfg.Provisioned {
		return lookUp(ctx, r.js, r.cfg)
	}
	cons, created, err := Ensure(ctx, r.js, r.cfg)
	if created {
		r.log.Info().Msg("durable consumer created")
	}
	return cons, err
}

// refused reports whether the server refused the consumer's configuration
// itself (a 400: overlapping filters, a setting that cannot change): no
// retry can fix that. A missing stream, a timeout or a lost connection is
// worth waiting out.
func refused(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 400
}

// consume pulls messages into the scheduler until ctx ends or the durable
// disappears (then it returns, and Run binds again).
func (r *runner) consume(ctx context.Context, cons jetstream.Consumer) {
	iter, err := cons.Messages(jetstream.PullMaxMessages(min(256, r.cfg.MaxAckPending)))
	if err != nil {
		r.cfg.Checks.Fail(r.check, "cannot pull messages", err)
		sleep(ctx, time.Second)
		return
	}
	// On shutdown, Drain (not Stop): the messages already pulled into the
	// client's buffer still come out of Next, and the workers hand them back
	// with a Nak for prompt redelivery instead of leaving them to wait out
	// AckWait. A drain that cannot finish (NATS away: the unsubscribe never
	// completes) must not hold up the exit: give it two seconds.
	drainCtx, giveUp := context.WithCancel(context.Background())
	defer giveUp()
	stop := context.AfterFunc(ctx, func() {
		iter.Drain()
		if !r.js.Conn().IsConnected() {
			giveUp() // nothing can be handed back anyway
			return
		}
		time.AfterFunc(2*time.Second, giveUp)
	})
	defer stop()
	defer iter.Stop()
	// The watchdog: the iterator does not always notice a durable that is
	// gone (a server restarted on a wiped store says nothing of it), so ask.
	lost := make(chan struct{})
	watch, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		t := time.NewTicker(r.cfg.Heal)
		defer t.Stop()
		for {
			select {
			case <-watch.Done():
				return
			case <-t.C:
			}
			ictx, cancel := context.WithTimeout(watch, 5*time.Second)
			info, err := cons.Info(ictx)
			cancel()
			if err == nil {
				r.cfg.Metrics.ConsumerInfo(r.cfg.Stream, r.cfg.Service, info.NumPending, uint64(max(info.NumAckPending, 0)))
			}
			if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
				r.log.Warn().Err(err).Msg("durable consumer gone; binding again")
				r.cfg.Checks.Fail(r.check, "durable consumer missing", err)
				close(lost)
				iter.Stop()
				return
			}
		}
	}()
	for {
		msg, err := iter.Next(jetstream.NextContext(drainCtx))
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || drainCtx.Err() != nil {
				return
			}
			select {
			case <-lost:
				return
			default:
			}
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				r.log.Warn().Err(err).Msg("durable consumer gone; binding again")
				return
			}
			// Missing heartbeats while NATS restarts and the like: the
			// iterator carries on by itself; don't spin while it does.
			r.log.Debug().Err(err).Msg("pull iterator")
			if !sleep(ctx, 50*time.Millisecond) {
				return
			}
			continue
		}
		received := time.Now()
		if stages.On(msg.Subject()) {
			stages.Mark(r.cfg.Service, stages.ConsumerReceived, msg.Subject(), received)
			if meta, err := msg.Metadata(); err == nil {
				stages.Mark(r.cfg.Service, stages.ConsumerStored, msg.Subject(), meta.Timestamp)
			}
		}
		key := orderKey(msg.Subject())
		if r.over != nil && r.over.holds(key) {
			// Its order has messages set aside: this one joins them, in
			// stream order.
			r.overflowed(key, msg)
		} else if !r.sched.push(key, queued{msg: msg, at: received}) {
			// This order already has a full queue: set the message aside
			// rather than wait (and hold up every other order).
			r.overflowed(key, msg)
		}
	}
}

// overflowed sets msg aside for its hot order or, if it cannot, hands it
// back to JetStream for later.
func (r *runner) overflowed(key string, msg jetstream.Msg) {
	backpressure.Add(1)
	if r.over != nil && r.over.take(key, msg) {
		return
	}
	_ = msg.NakWithDelay(r.cfg.BackoffMax / 5)
}

// orderKey is what a message is ordered by: its order (the subject's
// aggregate id, never the partition token after it: that would put every
// order of a partition in one queue). All events of one order are handled
// one after another, in stream order; different orders run in parallel.
func orderKey(subject string) string { return streams.AggregateID(subject) }

func (r *runner) handle(ctx context.Context, msg jetstream.Msg) {
	began := time.Now()
	meta, err := msg.Metadata()
	if err != nil {
		// Not a JetStream message: nothing to ack or redeliver.
		r.log.Error().Err(err).Str("subject", msg.Subject()).Msg("message without JetStream metadata")
		return
	}
	env, ev, err := r.decode(msg, meta)
	if err != nil {
		r.log.Error().Err(err).Str("subject", msg.Subject()).Uint64("stream_seq", meta.Sequence.Stream).
			Str("trace_id", tracing.FromHeader(msg.Headers()).TraceID()).
			Msg("refused an event inconsistent with where it came from; dead-lettering")
		r.observe(env, r.deadLetter(msg, meta, err), began)
		return
	}
	// Attributes cost on every event: the id says which event it was (the
	// span's name its type, the resource the consuming service), and an
	// outcome other than applied is added at the end.
	ctx, span := r.cfg.Tracer.Start(tracing.FromHeader(msg.Headers()).Into(ctx), r.spanName(env.Type),
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attribute.String("messaging.message.id", env.ID)))
	outcome := metrics.Retried
	defer func() {
		r.observe(env, outcome, began)
		if span.IsRecording() {
			if outcome != metrics.Applied {
				span.SetAttributes(attribute.String("choreo.outcome", outcome))
			}
			if outcome == metrics.DeadLettered {
				span.SetStatus(codes.Error, "dead-lettered")
			}
			span.End()
		}
	}()
	log := r.log.With().Str("event_id", env.ID).Str("event_type", env.Type).
		Str("order_id", env.CorrelationID).Str("correlation_id", env.CorrelationID).
		Str("trace_id", tracing.TraceID(ctx)).Uint64("attempt", meta.NumDelivered).Logger()
	if r.cfg.Accept != nil && !r.cfg.Accept(env, ev) {
		if err := msg.Ack(); err != nil {
			log.Debug().Err(err).Msg("ack failed")
		}
		return
	}
	// A redelivery of a handled event is common after a crash or a pause:
	// a read is enough to recognise it, with no write and no fsync.
	var handled bool
	_ = r.cfg.Store.View(ctx, func(tx *eventstore.Tx) error { handled = tx.Handled(env.ID); return nil })
	if handled {
		outcome = metrics.Duplicate
		if err := msg.Ack(); err != nil {
			log.Debug().Err(err).Msg("ack failed")
		}
		return
	}
	hctx, cancel := context.WithTimeout(ctx, r.cfg.AckWait/2)
	defer cancel()
	stored, _ := msg.(*storedMsg) // set aside: its row goes with the effects
	var duplicate bool
	err = r.cfg.Store.Update(hctx, func(tx *eventstore.Tx) (err error) {
		if duplicate = tx.Handled(env.ID); duplicate {
			return nil
		}
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic in handler: %v\n%s", p, debug.Stack())
			}
		}()
		if err := r.cfg.Handler(hctx, tx, env, ev); err != nil {
			return err
		}
		if err := tx.MarkHandled(env.ID); err != nil {
			return err
		}
		if stored != nil {
			if err := stored.undefer(tx); err != nil {
				return err
			}
		}
		return tx.ForgetFailures(env.ID)
	})
	if err == nil {
		if stored != nil && !duplicate {
			stored.committed()
		}
		failpoint.Crash(r.cfg.Service, failpoint.ConsumerAfterCommit)
		r.cfg.Checks.Pass(r.check)
		outcome = metrics.Applied
		if duplicate {
			outcome = metrics.Duplicate
		} else {
			r.cfg.Metrics.DeliveryLag(r.cfg.Service, time.Since(env.OccurredAt))
		}
		log.Debug().Str("outcome", outcome).Dur("took", time.Since(began)).Msg("event handled")
		if stages.On(msg.Subject()) {
			stages.Mark(r.cfg.Service, stages.ConsumerAcked, msg.Subject(), time.Now())
		}
		if err := msg.Ack(); err != nil {
			// The effects are committed; a redelivery will find the inbox mark.
			log.Debug().Err(err).Msg("ack failed")
		}
		return
	}
	if span.IsRecording() {
		span.RecordError(err)
	}
	switch fault.Classify(err) {
	case fault.Poison:
		log.Error().Err(err).Msg("the event is refused for good; dead-lettering")
		outcome = r.deadLetter(msg, meta, err)
	case fault.Transient:
		// The service's own trouble, not the message's: retry for as long
		// as it lasts, and say so once (the check), not on every retry.
		r.cfg.Checks.Fail(r.check, fault.Reason(err), err)
		log.Debug().Err(err).Msg("transient failure; will retry")
		retries.Add(1)
		_ = msg.NakWithDelay(r.backoff(meta.NumDelivered))
	default:
		n, rerr := r.cfg.Store.RecordFailure(ctx, env.ID)
		switch {
		case rerr != nil:
			// Cannot even count it: the store is in trouble.
			r.cfg.Checks.Fail(r.check, fault.Reason(rerr), rerr)
			retries.Add(1)
			_ = msg.NakWithDelay(r.backoff(meta.NumDelivered))
		case n >= r.cfg.MaxDeliver:
			log.Error().Err(err).Int("failures", n).Msg("handler failed on this event every time; dead-lettering")
			outcome = r.deadLetter(msg, meta, fmt.Errorf("handler failed %d times: %w", n, err))
		default:
			delay := r.backoff(uint64(n))
			log.Warn().Err(err).Int("failures", n).Dur("retry_in", delay).Msg("handler failed; will retry")
			retries.Add(1)
			_ = msg.NakWithDelay(delay)
		}
	}
}

// spanName is "handle <type>", made once per type.
func (r *runner) spanName(typ string) string {
	if !r.cfg.Tracer.Enabled() {
		return ""
	}
	if name, ok := r.spanNames.Load(typ); ok {
		return name.(string)
	}
	name := "handle " + typ
	r.spanNames.Store(typ, name)
	return name
}

// observe records one delivery's outcome. An event too broken to have a
// known type is counted under "unknown" (the label's values stay bounded).
func (r *runner) observe(env envelope.Envelope, outcome string, began time.Time) {
	if r.cfg.Metrics == nil {
		return
	}
	typ := env.Type
	if !r.reg.Knows(typ) {
		typ = "unknown"
	}
	r.cfg.Metrics.EventHandled(r.cfg.Service, typ, outcome, time.Since(began))
}

func (r *runner) backoff(delivered uint64) time.Duration {
	d := r.cfg.Backoff
	for i := uint64(1); i < delivered && d < r.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, r.cfg.BackoffMax)
}

// deadLetter copies the message to the DLQ stream (package deadletter has
// the format), then terminates it. If the copy fails the message is
// negatively acknowledged instead, so it comes back and the copy is tried
// again: a dead letter is never dropped. It returns the outcome:
// metrics.DeadLettered, or metrics.Retried if the copy failed.
func (r *runner) deadLetter(msg jetstream.Msg, meta *jetstream.MsgMetadata, cause error) string {
	out := deadletter.New(r.cfg.Service, msg, meta, cause)
	reason := out.Header.Get(deadletter.HeaderError)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	log := r.log.With().Str("subject", msg.Subject()).Uint64("stream_seq", meta.Sequence.Stream).
		Str("trace_id", tracing.FromHeader(msg.Headers()).TraceID()).Logger()
	if _, err := r.js.PublishMsg(ctx, out, jetstream.WithExpectStream(streams.DLQ)); err != nil {
		// The DLQ is unreachable: the message comes back and the copy is
		// tried again; say so once.
		r.cfg.Checks.Fail(r.check, "cannot write dead letters: "+fault.Reason(err), err)
		log.Debug().Err(err).Msg("dead-lettering failed; will retry")
		_ = msg.NakWithDelay(r.backoff(meta.NumDelivered))
		return metrics.Retried
	}
	if id := msg.Headers().Get(jetstream.MsgIDHeader); id != "" {
		_ = r.cfg.Store.ForgetFailures(ctx, id)
	}
	log.Error().Str("error", reason).Uint64("attempt", meta.NumDelivered).Msg("message dead-lettered")
	if err := msg.TermWithReason(reason); err != nil {
		log.Debug().Err(err).Msg("term failed")
	}
	return metrics.DeadLettered
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
