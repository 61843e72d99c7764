package order

import (
	"context"
	"time"

	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/tracing"
	"github.com/rs/zerolog"
)

// deadlineTask cancels open orders whose saga deadline has passed. Deadlines
// live in a view written with OrderPlaced and removed when the order ends, so
// they survive a restart: an order whose deadline passed while the service
// was down is cancelled as soon as it is back.
func deadlineTask(s Settings) func(context.Context, *eventstore.Store) error {
	return func(ctx context.Context, st *eventstore.Store) error {
		log := zerolog.Ctx(ctx)
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
			next := expireDue(ctx, st, s.Now(), log)
			wait := s.DeadlineTick
			if !next.IsZero() {
				wait = min(wait, max(time.Until(next), 5*time.Millisecond))
			}
			timer.Reset(wait)
		}
	}
}

// expireDue cancels the due orders, one transaction each so one failure does
// not hold up the rest, and returns the next deadline (zero if none known).
func expireDue(ctx context.Context, st *eventstore.Store, now time.Time, log *zerolog.Logger) time.Time {
	var due []string
	var next time.Time
	_ = st.View(ctx, func(tx *eventstore.Tx) error {
		due, next = dueOrders(tx, now, 500)
		return nil
	})
	for _, id := range due {
		// The cancellation continues the saga's trace: that of its
		// OrderPlaced (version 1 of the order).
		var tc tracing.Context
		_ = st.View(ctx, func(tx *eventstore.Tx) error { tc = tx.TraceOf(domain.OrderAggregate, id, 1); return nil })
		err := st.Update(tc.Into(ctx), func(tx *eventstore.Tx) error {
			meta := eventstore.Meta{CorrelationID: id, CausationID: envelope.NewID()}
			_, err := eventstore.Update(tx, orderAgg, id, meta, func(o domain.Order) ([]envelope.Event, error) {
				return domain.Expire(o, now), nil
			})
			return err
		})
		if err != nil {
			log.Warn().Err(err).Str("order_id", id).Str("correlation_id", id).Str("trace_id", tc.TraceID()).Msg("expire order")
		} else {
			log.Info().Str("order_id", id).Str("correlation_id", id).Str("trace_id", tc.TraceID()).Msg("saga deadline passed; order cancelled")
		}
	}
	if len(due) == 500 {
		return now // more are due: come back at once
	}
	return next
}
