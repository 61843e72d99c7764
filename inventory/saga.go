package inventory

import (
	"context"
	"slices"

	"github.com/choreo-dev/choreo/inventory/domain"
	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/saga"
)

// Saga is inventory's part in the order saga (docs/contract.md, section 4):
//
//	on PaymentCompleted  reserve every line iff every SKU has the stock  → StockReserved | StockReservationFailed
//	on OrderCancelled    release a reservation, once                     → StockReleased
//
// A reservation (StockReserved) is an effect that StockReleased gives back.
//
// A partitioned inventory (docs/contract.md, section 7) owns each SKU in
// one partition; an order whose lines span partitions is reserved in parts,
// which the order's home partition collects into the same outcomes:
//
//	on PaymentCompleted        reserve the lines this partition owns   → StockPartReserved | StockPartFailed
//	on StockPart…              (home) collect the parts                → StockReserved | StockReservationFailed | StockReleased
//	on StockReservationFailed  give this partition's part back, once   → StockPartReleased
//	on OrderCancelled          give this partition's part back, once   → StockPartReleased
var Saga = saga.Service{
	Name: inventoryevents.Service,
	Publishes: []saga.Event{
		saga.Publishes[inventoryevents.StockReserved](saga.Effect, saga.CompensatedBy(inventoryevents.StockReleased{})),
		saga.Publishes[inventoryevents.StockReservationFailed](saga.Failure),
		saga.Publishes[inventoryevents.StockReleased](saga.Compensation),
		saga.Publishes[inventoryevents.StockRestocked](saga.Outside, saga.Terminal()),
		saga.Publishes[inventoryevents.StockPartReserved](saga.Step),
		saga.Publishes[inventoryevents.StockPartFailed](saga.Step),
		saga.Publishes[inventoryevents.StockPartReleased](saga.Step),
	},
	Reactions: []saga.Reaction{
		// A partitioned inventory keeps each SKU's stock in the partition the
		// SKU hashes to, and an order's allocation in the one its id does.
		saga.OnKeyed(reserve, func(e paymentevents.PaymentCompleted) []string { return append(domain.SKUs(e.Items), e.OrderID) },
			inventoryevents.StockReserved{}, inventoryevents.StockReservationFailed{},
			inventoryevents.StockPartReserved{}, inventoryevents.StockPartFailed{}),
		saga.OnKeyed(release, cancelKeys, inventoryevents.StockReleased{}, inventoryevents.StockPartReleased{}),
		saga.On(endPart, inventoryevents.StockPartReleased{}).ToAll(),
		saga.On(collect(domain.OnPartReserved), inventoryevents.StockReserved{}, inventoryevents.StockReservationFailed{}),
		saga.On(collect(domain.OnPartFailed), inventoryevents.StockReserved{}, inventoryevents.StockReservationFailed{}),
		saga.On(collect(domain.OnPartReleased), inventoryevents.StockReleased{}),
	},
}

// placement is where this partition stands among the inventory's
// partitions: the host puts its partition in every handler's ctx.
func placement(ctx context.Context) domain.Placement {
	p := partition.From(ctx)
	return domain.Placement{Part: p.Index, Count: p.Count, Owner: p.Of}
}

// cancelKeys routes a cancellation to the partitions that hold its SKUs and
// to its home; one that names no SKU (published before it did) to all.
func cancelKeys(e orderevents.OrderCancelled) []string {
	if len(e.SKUs) == 0 {
		return nil
	}
	return append(slices.Clone(e.SKUs), e.OrderID)
}

// reserve reserves a paid order's lines, all or nothing. An order this
// partition holds whole (always, with one partition) is reserved in one
// transaction with every SKU it touches; otherwise this partition reserves
// the lines it owns as a part, and the order's home opens its allocation.
func reserve(ctx context.Context, tx *eventstore.Tx, env envelope.Envelope, e paymentevents.PaymentCompleted) error {
	p := placement(ctx)
	meta := eventstore.Meta{CorrelationID: e.OrderID, CausationID: env.ID}
	r, err := eventstore.Get(tx, reservationAgg, e.OrderID)
	if err != nil {
		return err
	}
	if p.Direct(e.OrderID, e.Items) {
		skus, err := loadSKUs(tx, domain.SKUs(e.Items))
		if err != nil {
			return err
		}
		re, se, err := domain.OnPaymentCompleted(r.State, states(skus), e)
		if err != nil {
			return consumer.Permanent(err)
		}
		return save(tx, meta, r, re, skus, se)
	}
	if own := p.Lines(e.Items); len(own) > 0 {
		skus, err := loadSKUs(tx, domain.SKUs(own))
		if err != nil {
			return err
		}
		re, se, err := domain.OnPaymentCompletedPart(r.State, states(skus), e, p)
		if err != nil {
			return consumer.Permanent(err)
		}
		if err := save(tx, meta, r, re, skus, se); err != nil {
			return err
		}
	}
	if !p.IsHome(e.OrderID) {
		return nil
	}
	a, err := eventstore.Get(tx, allocationAgg, e.OrderID)
	if err != nil {
		return err
	}
	return a.Save(tx, meta, domain.OnPaymentCompletedHome(a.State, e, p)...)
}

// release gives a cancelled order's reserved stock back, once; a
// cancellation heard first is remembered so that no reservation follows.
// The home of an order reserved in parts records the end too.
func release(ctx context.Context, tx *eventstore.Tx, env envelope.Envelope, e orderevents.OrderCancelled) error {
	meta := eventstore.Meta{CorrelationID: e.OrderID, CausationID: env.ID}
	if err := endReservation(tx, meta, e.OrderID, func(r domain.Reservation) ([]envelope.Event, map[string][]envelope.Event) {
		return domain.OnOrderCancelled(r, e)
	}); err != nil {
		return err
	}
	if p := placement(ctx); p.Count == 1 || !p.IsHome(e.OrderID) {
		return nil
	}
	a, err := eventstore.Get(tx, allocationAgg, e.OrderID)
	if err != nil {
		return err
	}
	return a.Save(tx, meta, domain.OnOrderCancelledHome(a.State, e)...)
}

// endPart gives this partition's part of an order back when the order's
// reservation failed as a whole.
func endPart(_ context.Context, tx *eventstore.Tx, env envelope.Envelope, e inventoryevents.StockReservationFailed) error {
	meta := eventstore.Meta{CorrelationID: e.OrderID, CausationID: env.ID}
	return endReservation(tx, meta, e.OrderID, func(r domain.Reservation) ([]envelope.Event, map[string][]envelope.Event) {
		return domain.OnReservationFailed(r, e)
	})
}

// endReservation applies decide to the order's reservation (or part) and the
// SKUs it holds, in one transaction.
func endReservation(tx *eventstore.Tx, meta eventstore.Meta, orderID string,
	decide func(domain.Reservation) ([]envelope.Event, map[string][]envelope.Event)) error {
	r, err := eventstore.Get(tx, reservationAgg, orderID)
	if err != nil {
		return err
	}
	re, se := decide(r.State)
	skus, err := loadSKUs(tx, domain.SKUs(r.State.Items))
	if err != nil {
		return err
	}
	return save(tx, meta, r, re, skus, se)
}

// collect hands a part's report to the order's allocation, at its home.
// What it records and decides is caused by what caused the part (the
// PaymentCompleted, the OrderCancelled): the parts are inventory's own
// steps, and the saga's causal graph — what order.timeline draws — is the
// same at any number of partitions.
func collect[E envelope.Correlated](decide func(domain.Allocation, E) []envelope.Event) saga.Handler[E] {
	return func(_ context.Context, tx *eventstore.Tx, env envelope.Envelope, e E) error {
		id := e.Correlation()
		a, err := eventstore.Get(tx, allocationAgg, id)
		if err != nil {
			return err
		}
		cause := env.CausationID
		if cause == "" {
			cause = env.ID
		}
		return a.Save(tx, eventstore.Meta{CorrelationID: id, CausationID: cause}, decide(a.State, e)...)
	}
}

// loadSKUs loads the SKUs, in the given order.
func loadSKUs(tx *eventstore.Tx, ids []string) ([]*eventstore.Loaded[domain.SKU], error) {
	out := make([]*eventstore.Loaded[domain.SKU], len(ids))
	for i, id := range ids {
		s, err := eventstore.Get(tx, skuAgg, id)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func states(skus []*eventstore.Loaded[domain.SKU]) map[string]domain.SKU {
	m := make(map[string]domain.SKU, len(skus))
	for _, s := range skus {
		m[s.ID] = s.State
	}
	return m
}

// save appends each SKU's events and the reservation's: several aggregates,
// one transaction, so all are reserved (or released) or none.
func save(tx *eventstore.Tx, meta eventstore.Meta, r *eventstore.Loaded[domain.Reservation], re []envelope.Event,
	skus []*eventstore.Loaded[domain.SKU], se map[string][]envelope.Event) error {
	for _, s := range skus {
		if err := s.Save(tx, meta, se[s.ID]...); err != nil {
			return err
		}
	}
	return r.Save(tx, meta, re...)
}
