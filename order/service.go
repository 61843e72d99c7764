// Package order is the order service: it takes orders, opens and closes their
// sagas, and keeps the order views that order.get and order.list read.
package order

import (
	"context"
	"time"

	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/config"
	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

// Settings are the order service's own settings.
type Settings struct {
	// SagaTimeout is how long an order may take before it is cancelled with
	// reason timeout (CHOREO_SAGA_TIMEOUT).
	SagaTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// DeadlineTick is how often the deadline scheduler looks for expired
	// orders when none is due sooner. Default 1s.
	DeadlineTick time.Duration
	// StuckAfter is how long a saga may be in flight before it counts as
	// stuck (choreo_sagas_stuck; CHOREO_STUCK_AFTER). Default 10s.
	StuckAfter time.Duration
}

var orderAgg = eventstore.Aggregate[domain.Order]{
	Type:   domain.OrderAggregate,
	New:    domain.NewOrder,
	Evolve: domain.EvolveOrder,
}

// Registry knows the order service's own events and the events it consumes.
func Registry() *envelope.Registry {
	r := envelope.NewRegistry()
	orderevents.Register(r)
	domain.Register(r)
	paymentevents.Register(r)
	inventoryevents.Register(r)
	shippingevents.Register(r)
	return r
}

// DefaultSagaTimeout is CHOREO_SAGA_TIMEOUT's default.
const DefaultSagaTimeout = 30 * time.Second

// SettingsFromEnv reads CHOREO_SAGA_TIMEOUT and CHOREO_STUCK_AFTER,
// reporting a bad value through env.
func SettingsFromEnv(env *config.Env) Settings {
	return Settings{
		SagaTimeout: env.Duration("CHOREO_SAGA_TIMEOUT", DefaultSagaTimeout),
		StuckAfter:  env.Duration("CHOREO_STUCK_AFTER", DefaultStuckAfter),
	}
}

// DefaultHTTPAddr is where the order service serves /metrics, /healthz and
// /readyz unless CHOREO_HTTP_ADDR says otherwise.
const DefaultHTTPAddr = "127.0.0.1:9101"

// Spec describes the order service to the service host.
func Spec(s Settings) service.Spec {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.SagaTimeout <= 0 {
		s.SagaTimeout = DefaultSagaTimeout
	}
	if s.DeadlineTick <= 0 {
		s.DeadlineTick = time.Second
	}
	if s.StuckAfter <= 0 {
		s.StuckAfter = DefaultStuckAfter
	}
	reg := Registry()
	watch := &sagaWatch{settings: s}
	tl := timeline{reg: reg, watch: watch}
	return service.Spec{
		HTTPAddr:    DefaultHTTPAddr,
		Saga:        Saga,
		Registry:    reg,
		Schemas:     orderevents.Schemas,
		Projections: []eventstore.Projection{views{}, tl},
		// Every saga event of the other services, as heard: the timeline.
		ConsumedProjections: []eventstore.Projection{tl},
		Observe:             watch.observe,
		Endpoints:           func(st *eventstore.Store) []endpoint.Endpoint { return endpoints(st, s) },
		Tasks:               []func(ctx context.Context, st *eventstore.Store) error{deadlineTask(s)},
	}
}
