package payment

import (
	"context"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/domain"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/saga"
)

// Saga is payment's part in the order saga (docs/contract.md, section 4):
//
//	on OrderPlaced     debit the wallet iff balance ≥ total  → PaymentCompleted | PaymentFailed
//	on OrderCancelled  refund a charge, once                 → PaymentRefunded
//
// A charge (PaymentCompleted) is an effect that PaymentRefunded gives back.
var Saga = saga.Service{
	Name: paymentevents.Service,
	Publishes: []saga.Event{
		saga.Publishes[paymentevents.PaymentCompleted](saga.Effect, saga.CompensatedBy(paymentevents.PaymentRefunded{})),
		saga.Publishes[paymentevents.PaymentFailed](saga.Failure),
		saga.Publishes[paymentevents.PaymentRefunded](saga.Compensation),
		saga.Publishes[paymentevents.FundsDeposited](saga.Outside, saga.Terminal()),
	},
	Reactions: []saga.Reaction{
		// A partitioned payment service keeps each wallet, and the payments
		// it makes, in the partition its customer hashes to.
		saga.OnKeyed(charge, func(e orderevents.OrderPlaced) []string { return []string{e.CustomerID} },
			paymentevents.PaymentCompleted{}, paymentevents.PaymentFailed{}),
		saga.OnKeyed(refund, func(e orderevents.OrderCancelled) []string { return keys(e.CustomerID) },
			paymentevents.PaymentRefunded{}),
	},
}

// charge decides the order's payment and debits the wallet, in one
// transaction.
func charge(_ context.Context, tx *eventstore.Tx, env envelope.Envelope, e orderevents.OrderPlaced) error {
	meta := eventstore.Meta{CorrelationID: e.OrderID, CausationID: env.ID}
	p, err := eventstore.Get(tx, paymentAgg, e.OrderID)
	if err != nil {
		return err
	}
	w, err := eventstore.Get(tx, walletAgg, e.CustomerID)
	if err != nil {
		return err
	}
	pe, we, err := domain.OnOrderPlaced(p.State, w.State, e, envelope.NewID())
	if err != nil {
		return consumer.Permanent(err)
	}
	if err := w.Save(tx, meta, we...); err != nil {
		return err
	}
	return p.Save(tx, meta, pe...)
}

// refund gives a cancelled order's charge back to the wallet, once; a
// cancellation heard first is remembered so that no charge ever follows.
func refund(_ context.Context, tx *eventstore.Tx, env envelope.Envelope, e orderevents.OrderCancelled) error {
	meta := eventstore.Meta{CorrelationID: e.OrderID, CausationID: env.ID}
	p, err := eventstore.Get(tx, paymentAgg, e.OrderID)
	if err != nil {
		return err
	}
	pe, we := domain.OnOrderCancelled(p.State, e)
	if len(we) > 0 {
		w, err := eventstore.Get(tx, walletAgg, p.State.CustomerID)
		if err != nil {
			return err
		}
		if err := w.Save(tx, meta, we...); err != nil {
			return err
		}
	}
	return p.Save(tx, meta, pe...)
}

// keys is the routing key a possibly empty field gives: none (every
// partition hears it) for an event that does not carry it (one published
// before it did).
func keys(k string) []string {
	if k == "" {
		return nil
	}
	return []string{k}
}
