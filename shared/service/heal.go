package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/fault"
	"github.com/choreo-dev/choreo/shared/health"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// healer keeps what the service needs on the broker: its stream, the
// streams it hears and the DLQ. It checks when NATS (re)connects and every
// so often — a server restarted on a wiped store, or a `nats stream rm`,
// says nothing to its clients — re-creates what is missing, and when its own
// stream turns out to be a new one (its creation time differs from the one
// recorded in the store) queues its recent events for publishing again: the
// bbolt log is the source of truth, and the consumers' inboxes keep the
// effects exactly-once.
type healer struct {
	js      jetstream.JetStream
	store   *eventstore.Store
	name    string
	owners  []string
	opts    streams.Options
	horizon time.Duration // how far back to republish: the inbox retention
	checks  *health.Checks
	log     zerolog.Logger
	kick    chan struct{}
	started bool // the first check (at start) has set the streams' configuration
	// external: the streams are provisioned for the service; it only checks
	// that they exist (Options.ExternalProvisioning).
	external bool
}

// streamIdentity is the store's meta key for the creation time of the
// service's own stream, as last seen.
const streamIdentity = "stream-created"

// errNotProvisioned: a stream a service with external provisioning needs
// is not there.
var errNotProvisioned = errors.New("streams not provisioned")

// check is the healer's readiness check.
const checkStreams = "streams"

func (h *healer) connected(*nats.Conn) {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// run checks at once, then on every reconnect and every period, until ctx
// ends.
func (h *healer) run(ctx context.Context, period time.Duration) error {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		h.heal(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-h.kick:
		}
	}
}

// heal ensures the streams and republishes if the own stream is new. It
// reports the result on the "streams" check.
func (h *healer) heal(parent context.Context) bool {
	ctx, cancel := context.WithTimeout(parent, 10*time.Second)
	defer cancel()
	// Provisioned for us: only look. Otherwise, at start, create or update
	// (a restart puts a hand-edited setting back); later, only re-create
	// what is gone.
	var err error
	switch {
	case h.external:
		var missing []string
		if missing, err = streams.Missing(ctx, h.js, h.owners); err == nil && len(missing) > 0 {
			err = fmt.Errorf("%w: %s", errNotProvisioned, strings.Join(missing, ", "))
			h.checks.Fail(checkStreams, "missing "+strings.Join(missing, ", ")+": provisioning is external, run `choreo provision`", err)
			return false
		}
	case !h.started:
		err = streams.Ensure(ctx, h.js, h.owners, h.opts)
	default:
		var created []string
		if created, err = streams.Recreate(ctx, h.js, h.owners, h.opts); len(created) > 0 {
			h.log.Warn().Strs("streams", created).Msg("streams were missing on the broker: re-created them")
		}
	}
	if err != nil {
		if parent.Err() != nil {
			return false // shutting down: not a fault to tell the operator of
		}
		reason := fault.Reason(err)
		if !h.js.Conn().IsConnected() {
			reason = "NATS unavailable"
		}
		h.checks.Fail(checkStreams, reason, err)
		return false
	}
	st, err := h.js.Stream(ctx, streams.Name(h.name))
	if err != nil {
		h.checks.Fail(checkStreams, "cannot read stream "+streams.Name(h.name)+": "+fault.Reason(err), err)
		return false
	}
	created := st.CachedInfo().Created.UTC().Format(time.RFC3339Nano)
	seen, err := h.store.Meta(streamIdentity)
	if err != nil {
		h.checks.Fail(checkStreams, "cannot read the store", err)
		return false
	}
	if seen != nil && string(seen) != created {
		// The stream is not the one we published to: the broker lost it.
		n, err := h.store.Republish(ctx, time.Now().Add(-h.horizon))
		if err != nil {
			h.checks.Fail(checkStreams, "cannot republish to the new stream", err)
			return false
		}
		h.log.Warn().Str("stream", streams.Name(h.name)).Str("was_created", string(seen)).Str("now_created", created).
			Int("republished", n).Dur("horizon", h.horizon).
			Msg("the stream was re-created (the broker lost it): queued the recent events again under their original ids")
	}
	if string(seen) != created {
		if err := h.store.SetMeta(ctx, streamIdentity, []byte(created)); err != nil {
			h.checks.Fail(checkStreams, "cannot write the store", err)
			return false
		}
	}
	h.started = true
	h.checks.Pass(checkStreams)
	return true
}
