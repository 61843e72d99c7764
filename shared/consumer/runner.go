package consumer

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/failpoint"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Handler applies one event's effects inside the transaction the runner
// opened. It must only change the store through tx: the runner commits the
// effects and the inbox mark together, or neither.
type Handler func(ctx context.Context, tx *eventstore.Tx, env envelope.Envelope, ev envelope.Event) error

// Config describes one consumer.
type Config struct {
	// Service is the consuming service: the durable consumer's name and the
	// second token of its dead letters' subjects.
	Service string
	// Stream is the stream consumed.
	Stream string
	// Subjects filter the stream to the events the service reacts to.
	Subjects []string
	Store    *eventstore.Store
	Handler  Handler
	// MaxDeliver is how many deliveries a failing message gets before it is
	// dead-lettered. Default 5.
	MaxDeliver int
	// Backoff is the delay before the second delivery, doubled for each
	// further one up to BackoffMax. Defaults 200ms and 5s.
	Backoff, BackoffMax time.Duration
	// Workers handle different orders concurrently. Default 32.
	Workers int
	// AckWait is how long JetStream waits for an ack before redelivering.
	// Default 10s: a message that was delivered just before nats-server
	// went down comes back after it, so it bounds how long such a saga
	// stalls. A handler gets at most half of it; a message that waited in
	// a worker's queue for a third of it is marked in progress first.
	AckWait time.Duration
	// MaxAckPending bounds unacknowledged messages. Default 1024.
	MaxAckPending int
	// Bound, if set, is called once the durable consumer exists on the
	// server: the service reports ready only after all are bound.
	Bound  func()
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
		c.AckWait = 10 * time.Second
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = 1024
	}
	return nil
}

// ConsumerConfig is the JetStream durable consumer the runner binds to.
// MaxDeliver is left unlimited on the server on purpose: the runner counts
// deliveries and dead-letters at Config.MaxDeliver, and if writing the dead
// letter fails the message must come back, not be dropped by the server.
func (c Config) ConsumerConfig() jetstream.ConsumerConfig {
	cc := jetstream.ConsumerConfig{
		Durable:       c.Service,
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

// Run creates or updates the durable consumer and handles messages until ctx
// is cancelled; then it stops fetching, lets in-flight handlers finish and
// returns nil. Messages fetched but not started are left unacknowledged and
// are redelivered after AckWait.
func Run(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	r := &runner{cfg: cfg, js: js, reg: cfg.Store.Registry()}
	r.log = cfg.Logger.With().Str("consumer", cfg.Service).Str("stream", cfg.Stream).Logger()
	var cons jetstream.Consumer
	for {
		var err error
		if cons, err = js.CreateOrUpdateConsumer(ctx, cfg.Stream, cfg.ConsumerConfig()); err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		r.log.Warn().Err(err).Msg("cannot create consumer yet; retrying")
		if !sleep(ctx, time.Second) {
			return nil
		}
	}
	if cfg.Bound != nil {
		cfg.Bound()
	}
	return r.run(ctx, cons)
}

type runner struct {
	cfg Config
	js  jetstream.JetStream
	reg *envelope.Registry
	log zerolog.Logger
}

func (r *runner) run(ctx context.Context, cons jetstream.Consumer) error {
	queues := make([]chan queued, r.cfg.Workers)
	var wg sync.WaitGroup
	// Handlers get their own context: a shutdown lets them finish and commit
	// rather than abandoning work half-way through an fsync.
	hctx := context.WithoutCancel(ctx)
	for i := range queues {
		queues[i] = make(chan queued, 16)
		wg.Add(1)
		go func(q <-chan queued) {
			defer wg.Done()
			for item := range q {
				if ctx.Err() != nil {
					// Shutting down: hand it back for prompt redelivery.
					_ = item.msg.Nak()
					continue
				}
				if time.Since(item.at) > r.cfg.AckWait/3 {
					// Long in the queue behind a busy order: keep JetStream
					// from redelivering it while it is about to be handled.
					_ = item.msg.InProgress()
				}
				r.handle(hctx, item.msg)
			}
		}(queues[i])
	}
	defer func() {
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}()
	for ctx.Err() == nil {
		iter, err := cons.Messages(jetstream.PullMaxMessages(min(256, r.cfg.MaxAckPending)))
		if err != nil {
			r.log.Warn().Err(err).Msg("cannot pull messages; retrying")
			if !sleep(ctx, time.Second) {
				return nil
			}
			continue
		}
		// On shutdown, Drain (not Stop): the messages already pulled into the
		// client's buffer still come out of Next, and the workers hand them
		// back with a Nak for prompt redelivery instead of leaving them to
		// wait out AckWait.
		// A drain that cannot finish (NATS away: the unsubscribe never
		// completes) must not hold up the exit: give it two seconds.
		drainCtx, giveUp := context.WithCancel(context.Background())
		stop := context.AfterFunc(ctx, func() {
			iter.Drain()
			if !r.js.Conn().IsConnected() {
				giveUp() // nothing can be handed back anyway
				return
			}
			time.AfterFunc(2*time.Second, giveUp)
		})
		for {
			msg, err := iter.Next(jetstream.NextContext(drainCtx))
			if err != nil {
				if errors.Is(err, jetstream.ErrMsgIteratorClosed) || drainCtx.Err() != nil {
					break
				}
				if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
					// Someone deleted the durable: make it again and re-bind.
					r.log.Warn().Err(err).Msg("consumer gone; re-creating it")
					if c, cerr := r.js.CreateOrUpdateConsumer(ctx, r.cfg.Stream, r.cfg.ConsumerConfig()); cerr == nil {
						cons = c
					} else if !sleep(ctx, time.Second) {
						break
					}
					break
				}
				// Missing heartbeats while NATS restarts and the like: the
				// iterator carries on by itself; don't spin while it does.
				r.log.Debug().Err(err).Msg("pull iterator")
				if !sleep(ctx, 50*time.Millisecond) {
					break
				}
				continue
			}
			queues[shard(msg.Subject(), len(queues))] <- queued{msg: msg, at: time.Now()}
		}
		stop()
		giveUp()
		iter.Stop()
	}
	return nil
}

// queued is a message waiting for its worker, and since when.
type queued struct {
	msg jetstream.Msg
	at  time.Time
}

// shard picks the worker for a message: all events of one order (the last
// subject token) go to the same worker, in stream order.
func shard(subject string, n int) int {
	key := subject
	if i := strings.LastIndexByte(subject, '.'); i >= 0 {
		key = subject[i+1:]
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

func (r *runner) handle(ctx context.Context, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		// Not a JetStream message: nothing to ack or redeliver.
		r.log.Error().Err(err).Str("subject", msg.Subject()).Msg("message without JetStream metadata")
		return
	}
	env, err := envelope.Parse(msg.Data())
	if err != nil {
		r.deadLetter(msg, meta, err)
		return
	}
	log := r.log.With().Str("event_id", env.ID).Str("event_type", env.Type).
		Str("order_id", env.CorrelationID).Str("correlation_id", env.CorrelationID).
		Uint64("attempt", meta.NumDelivered).Logger()
	ev, err := r.reg.Decode(env)
	if err != nil {
		r.deadLetter(msg, meta, err)
		return
	}
	// A redelivery of a handled event is common after a crash or a pause:
	// a read is enough to recognise it, with no write and no fsync.
	var handled bool
	_ = r.cfg.Store.View(ctx, func(tx *eventstore.Tx) error { handled = tx.Handled(env.ID); return nil })
	if handled {
		if err := msg.Ack(); err != nil {
			log.Debug().Err(err).Msg("ack failed")
		}
		return
	}
	hctx, cancel := context.WithTimeout(ctx, r.cfg.AckWait/2)
	defer cancel()
	err = r.cfg.Store.Update(hctx, func(tx *eventstore.Tx) (err error) {
		if tx.Handled(env.ID) {
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
		return tx.MarkHandled(env.ID)
	})
	switch {
	case err == nil:
		failpoint.Crash(r.cfg.Service, failpoint.ConsumerAfterCommit)
		if err := msg.Ack(); err != nil {
			// The effects are committed; a redelivery will find the inbox mark.
			log.Debug().Err(err).Msg("ack failed")
		}
	case errors.Is(err, ErrPermanent):
		log.Error().Err(err).Msg("permanent failure; dead-lettering")
		r.deadLetter(msg, meta, err)
	case meta.NumDelivered >= uint64(r.cfg.MaxDeliver):
		log.Error().Err(err).Msg("giving up after MaxDeliver deliveries; dead-lettering")
		r.deadLetter(msg, meta, err)
	default:
		delay := r.backoff(meta.NumDelivered)
		log.Warn().Err(err).Dur("retry_in", delay).Msg("handler failed; will retry")
		retries.Add(1)
		_ = msg.NakWithDelay(delay)
	}
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
// again: a dead letter is never dropped.
func (r *runner) deadLetter(msg jetstream.Msg, meta *jetstream.MsgMetadata, cause error) {
	out := deadletter.New(r.cfg.Service, msg, meta, cause)
	reason := out.Header.Get(deadletter.HeaderError)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	log := r.log.With().Str("subject", msg.Subject()).Uint64("stream_seq", meta.Sequence.Stream).Logger()
	if _, err := r.js.PublishMsg(ctx, out, jetstream.WithExpectStream(streams.DLQ)); err != nil {
		log.Error().Err(err).Msg("dead-lettering failed; will retry")
		_ = msg.NakWithDelay(r.backoff(meta.NumDelivered))
		return
	}
	log.Error().Str("error", reason).Uint64("attempt", meta.NumDelivered).Msg("message dead-lettered")
	if err := msg.TermWithReason(reason); err != nil {
		log.Debug().Err(err).Msg("term failed")
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
