// Package inventory is the inventory service: stock per SKU, and the
// all-or-nothing reservation of each paid order's lines.
package inventory

import (
	"context"
	"errors"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/inventory/domain"
	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/service"
)

var (
	skuAgg = eventstore.Aggregate[domain.SKU]{
		Type: domain.SKUAggregate, New: domain.NewSKU, Evolve: domain.EvolveSKU,
	}
	reservationAgg = eventstore.Aggregate[domain.Reservation]{
		Type: domain.ReservationAggregate, New: domain.NewReservation, Evolve: domain.EvolveReservation,
	}
	allocationAgg = eventstore.Aggregate[domain.Allocation]{
		Type: domain.AllocationAggregate, New: domain.NewAllocation, Evolve: domain.EvolveAllocation,
	}
)

// Registry knows the inventory service's own events and the events it consumes.
func Registry() *envelope.Registry {
	r := envelope.NewRegistry()
	inventoryevents.Register(r)
	domain.Register(r)
	paymentevents.Register(r)
	orderevents.Register(r)
	return r
}

// StockView is inventory.restock's and inventory.get's reply, the
// contract's type, defined once in package client.
type StockView = client.StockView

const bucketStock = "stock"

// DefaultHTTPAddr is where the inventory service serves /metrics, /healthz and
// /readyz unless CHOREO_HTTP_ADDR says otherwise.
const DefaultHTTPAddr = "127.0.0.1:9103"

// bySKU routes a request to the partition that owns the SKU's stock, in a
// partitioned deployment.
var bySKU = endpoint.RouteBy("sku")

// Spec describes the inventory service to the service host.
func Spec() service.Spec {
	return service.Spec{
		HTTPAddr: DefaultHTTPAddr,
		Saga:     Saga,
		Registry: Registry(),
		Schemas:  inventoryevents.Schemas,
		Projections: []eventstore.Projection{
			eventstore.StateView(skuAgg, bucketStock, func(s domain.SKU, _ uint64, _ envelope.Envelope) (any, bool) {
				return StockView{SKU: s.SKU, Available: s.Available, Reserved: s.Reserved}, s.Exists
			}),
		},
		Endpoints: func(st *eventstore.Store) []endpoint.Endpoint {
			h := handlers{st}
			return []endpoint.Endpoint{
				endpoint.New("inventory.restock", h.restock, bySKU),
				endpoint.New("inventory.get", service.ViewQuery[service.BySKU, StockView](st, bucketStock, "SKU"), bySKU),
			}
		},
	}
}

type handlers struct{ store *eventstore.Store }

type restockRequest struct {
	SKU      string `json:"sku"`
	Quantity *int64 `json:"quantity"`
}

func (r *restockRequest) Validate() error {
	var p endpoint.Problems
	p.ID("sku", r.SKU)
	p.Required("quantity", r.Quantity != nil)
	if r.Quantity != nil {
		p.IntRange("quantity", *r.Quantity, 1, 1_000_000)
	}
	return p.Err()
}

func (h handlers) restock(ctx context.Context, r *restockRequest) (any, error) {
	var s domain.SKU
	err := h.store.Update(ctx, func(tx *eventstore.Tx) (err error) {
		id := envelope.NewID()
		meta := eventstore.Meta{CorrelationID: id, CausationID: id}
		s, err = eventstore.Update(tx, skuAgg, r.SKU, meta, func(s domain.SKU) ([]envelope.Event, error) {
			return domain.Restock(s, r.SKU, *r.Quantity)
		})
		return err
	})
	if errors.Is(err, domain.ErrStockOverflow) {
		return nil, endpoint.Invalid("quantity would overflow the stock of sku %s", r.SKU)
	}
	if err != nil {
		return nil, err
	}
	return StockView{SKU: s.SKU, Available: s.Available, Reserved: s.Reserved}, nil
}
