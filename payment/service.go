// Package payment is the payment service: customers' wallets, and the charge
// or refund of each order.
package payment

import (
	"context"
	"errors"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/domain"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/service"
)

var (
	walletAgg = eventstore.Aggregate[domain.Wallet]{
		Type: domain.WalletAggregate, New: domain.NewWallet, Evolve: domain.EvolveWallet,
	}
	paymentAgg = eventstore.Aggregate[domain.Payment]{
		Type: domain.PaymentAggregate, New: domain.NewPayment, Evolve: domain.EvolvePayment,
	}
)

// Registry knows the payment service's own events and the events it consumes.
func Registry() *envelope.Registry {
	r := envelope.NewRegistry()
	paymentevents.Register(r)
	domain.Register(r)
	orderevents.Register(r)
	return r
}

// The replies are the contract's types, defined once in package client.
type (
	BalanceView = client.BalanceView
	PaymentView = client.PaymentView
)

const (
	bucketBalances = "balances"
	bucketPayments = "payments"
)

// DefaultHTTPAddr is where the payment service serves /metrics, /healthz and
// /readyz unless CHOREO_HTTP_ADDR says otherwise.
const DefaultHTTPAddr = "127.0.0.1:9102"

// byCustomer routes a request to the partition that owns the customer's
// wallet, in a partitioned deployment.
var byCustomer = endpoint.RouteBy("customer_id")

// Spec describes the payment service to the service host.
func Spec() service.Spec {
	return service.Spec{
		HTTPAddr: DefaultHTTPAddr,
		Saga:     Saga,
		Registry: Registry(),
		Schemas:  paymentevents.Schemas,
		Projections: []eventstore.Projection{
			eventstore.StateView(walletAgg, bucketBalances, func(w domain.Wallet, _ uint64, _ envelope.Envelope) (any, bool) {
				return BalanceView{CustomerID: w.CustomerID, BalanceCents: w.BalanceCents}, w.Exists
			}),
			eventstore.StateView(paymentAgg, bucketPayments, func(p domain.Payment, _ uint64, _ envelope.Envelope) (any, bool) {
				return PaymentView{OrderID: p.OrderID, PaymentID: p.PaymentID, CustomerID: p.CustomerID,
					AmountCents: p.AmountCents, Status: p.Status}, p.Decided()
			}),
		},
		Endpoints: func(st *eventstore.Store) []endpoint.Endpoint {
			h := handlers{st}
			return []endpoint.Endpoint{
				endpoint.New("payment.deposit", h.deposit, byCustomer),
				endpoint.New("payment.balance", service.ViewQuery[service.ByCustomerID, BalanceView](st, bucketBalances, "customer"), byCustomer),
				// A payment is kept with its customer's wallet: found by its
				// order, it is asked of every partition.
				endpoint.New("payment.get", service.ViewQuery[service.ByOrderID, PaymentView](st, bucketPayments, "payment"),
					endpoint.Gather(service.First)),
			}
		},
	}
}

type handlers struct{ store *eventstore.Store }

type depositRequest struct {
	CustomerID  string `json:"customer_id"`
	AmountCents *int64 `json:"amount_cents"`
}

func (r *depositRequest) Validate() error {
	var p endpoint.Problems
	p.ID("customer_id", r.CustomerID)
	p.Required("amount_cents", r.AmountCents != nil)
	if r.AmountCents != nil {
		p.IntRange("amount_cents", *r.AmountCents, 1, 1_000_000_000)
	}
	return p.Err()
}

func (h handlers) deposit(ctx context.Context, r *depositRequest) (any, error) {
	var w domain.Wallet
	err := h.store.Update(ctx, func(tx *eventstore.Tx) (err error) {
		id := envelope.NewID()
		meta := eventstore.Meta{CorrelationID: id, CausationID: id}
		w, err = eventstore.Update(tx, walletAgg, r.CustomerID, meta, func(w domain.Wallet) ([]envelope.Event, error) {
			return domain.Deposit(w, r.CustomerID, *r.AmountCents)
		})
		return err
	})
	if errors.Is(err, domain.ErrBalanceOverflow) {
		return nil, endpoint.Invalid("amount_cents would overflow the balance of customer_id %s", r.CustomerID)
	}
	if err != nil {
		return nil, err
	}
	return BalanceView{CustomerID: r.CustomerID, BalanceCents: w.BalanceCents}, nil
}
