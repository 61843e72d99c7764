package inventory

import (
	"context"

	"github.com/choreo-dev/choreo/inventory/domain"
	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/saga"
)

// Saga is inventory's part in the order saga (docs/contract.md, section 4):
//
//	on PaymentCompleted  reserve every line iff every SKU has the stock  → StockReserved | StockReservationFailed
//	on OrderCancelled    release a reservation, once                     → StockReleased
//
// A reservation (StockReserved) is an effect that StockReleased gives back.
var Saga = saga.Service{
	Name: inventoryevents.Service,
	Publishes: []saga.Event{
		saga.Publishes[inventoryevents.StockReserved](saga.Effect, saga.CompensatedBy(inventoryevents.StockReleased{})),
		saga.Publishes[inventoryevents.StockReservationFailed](saga.Failure),
		saga.Publishes[inventoryevents.StockReleased](saga.Compensation),
		saga.Publishes[inventoryevents.StockRestocked](saga.Outside, saga.Terminal()),
	},
	Reactions: []saga.Reaction{
		saga.On(reserve, inventoryevents.StockReserved{}, inventoryevents.StockReservationFailed{}),
		saga.On(release, inventoryevents.StockReleased{}),
	},
}

// reserve reserves a paid order's lines, all or nothing: the reservation and
// every SKU it touches change in one transaction.
func reserve(_ context.Context, tx *eventstore.Tx, env envelope.Envelope, e paymentevents.PaymentCompleted) error {
	r, err := eventstore.Get(tx, reservationAgg, e.OrderID)
	if err != nil {
		return err
	}
	skus, err := loadSKUs(tx, domain.SKUs(e.Items))
	if err != nil {
		return err
	}
	re, se, err := domain.OnPaymentCompleted(r.State, states(skus), e)
	if err != nil {
		return consumer.Permanent(err)
	}
	return save(tx, eventstore.Meta{CorrelationID: e.OrderID, CausationID: env.ID}, r, re, skus, se)
}

// release gives a cancelled order's reserved stock back, once; a
// cancellation heard first is remembered so that no reservation follows.
func release(_ context.Context, tx *eventstore.Tx, env envelope.Envelope, e orderevents.OrderCancelled) error {
	r, err := eventstore.Get(tx, reservationAgg, e.OrderID)
	if err != nil {
		return err
	}
	re, se := domain.OnOrderCancelled(r.State, e)
	skus, err := loadSKUs(tx, domain.SKUs(r.State.Items))
	if err != nil {
		return err
	}
	return save(tx, eventstore.Meta{CorrelationID: e.OrderID, CausationID: env.ID}, r, re, skus, se)
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
