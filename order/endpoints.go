package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/service"
)

// byOrder routes a request to the partition that owns its order, in a
// partitioned deployment.
var byOrder = endpoint.RouteBy("order_id")

// mergeLists merges the order lists of every partition: newest first, at
// most the request's limit.
func mergeLists(req []byte, replies [][]byte) (any, error) {
	var r struct {
		Limit *int64 `json:"limit"`
	}
	_ = json.Unmarshal(req, &r) // the partitions refused a bad request already
	limit := defListLimit
	if r.Limit != nil {
		limit = int(*r.Limit)
	}
	all := client.OrderList{Orders: []client.OrderView{}}
	for _, raw := range replies {
		var l client.OrderList
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, err
		}
		all.Orders = append(all.Orders, l.Orders...)
	}
	slices.SortStableFunc(all.Orders, func(a, b client.OrderView) int { return b.CreatedAt.Compare(a.CreatedAt) })
	all.Orders = all.Orders[:min(limit, len(all.Orders))]
	return all, nil
}

func endpoints(st *eventstore.Store, s Settings) []endpoint.Endpoint {
	h := handlers{store: st, settings: s}
	return []endpoint.Endpoint{
		endpoint.New("order.place", h.place, byOrder),
		endpoint.New("order.cancel", h.cancel, byOrder),
		endpoint.New("order.get", service.ViewQuery[service.ByOrderID, client.OrderView](st, bucketOrders, "order"), byOrder),
		endpoint.New("order.list", h.list, endpoint.Gather(mergeLists)),
		endpoint.New("order.history", h.history, byOrder),
		endpoint.New("order.timeline", h.timeline, byOrder),
	}
}

type handlers struct {
	store    *eventstore.Store
	settings Settings
}

// place opens a saga, or answers the existing order when the same order id
// is placed again with the same content.
func (h handlers) place(ctx context.Context, r *placeRequest) (any, error) {
	orderID := r.OrderID
	if orderID == "" {
		// A new order lives in the partition that makes it.
		orderID = partition.From(ctx).NewKey(envelope.NewID)
	}
	cmd := r.command(orderID)
	var view client.OrderView
	err := h.store.Update(ctx, func(tx *eventstore.Tx) error {
		commandID := envelope.NewID()
		meta := eventstore.Meta{CorrelationID: orderID, CausationID: commandID}
		_, err := eventstore.Update(tx, orderAgg, orderID, meta, func(o domain.Order) ([]envelope.Event, error) {
			return domain.Place(o, cmd, tx.Now(), h.settings.SagaTimeout)
		})
		if err != nil {
			return err
		}
		var ok bool
		view, ok, err = getView(tx, orderID)
		if err == nil && !ok {
			err = fmt.Errorf("order %s has no view", orderID)
		}
		return err
	})
	if errors.Is(err, domain.ErrIdempotencyMismatch) {
		return nil, endpoint.Conflict("order_id %s was already placed with different content", orderID)
	}
	return view, err
}

func (h handlers) cancel(ctx context.Context, r *cancelRequest) (any, error) {
	var view client.OrderView
	err := h.store.Update(ctx, func(tx *eventstore.Tx) error {
		meta := eventstore.Meta{CorrelationID: r.OrderID, CausationID: envelope.NewID()}
		_, err := eventstore.Update(tx, orderAgg, r.OrderID, meta, func(o domain.Order) ([]envelope.Event, error) {
			return domain.Cancel(o, orderevents.ReasonCustomerRequest, r.Reason)
		})
		if err != nil {
			return err
		}
		view, _, err = getView(tx, r.OrderID)
		return err
	})
	switch {
	case errors.Is(err, domain.ErrUnknownOrder):
		return nil, endpoint.NotFound("order_id %s: order not found", r.OrderID)
	case errors.Is(err, domain.ErrAlreadyCompleted):
		return nil, endpoint.Conflict("order_id %s: order is completed and cannot be cancelled", r.OrderID)
	case errors.Is(err, domain.ErrAlreadyCancelled):
		return nil, endpoint.Conflict("order_id %s: order is already cancelled", r.OrderID)
	}
	return view, err
}

func (h handlers) list(ctx context.Context, r *listRequest) (any, error) {
	limit := defListLimit
	if r.Limit != nil {
		limit = int(*r.Limit)
	}
	var out []client.OrderView
	err := h.store.View(ctx, func(tx *eventstore.Tx) (err error) {
		out, err = listViews(tx, r.CustomerID, r.Status, limit)
		return err
	})
	return client.OrderList{Orders: out}, err
}

// history answers the order aggregate's stored events, oldest first. It reads
// the log itself, which is what it is asked for; no query replays it.
func (h handlers) history(ctx context.Context, r *service.ByOrderID) (any, error) {
	events := []envelope.Envelope{}
	err := h.store.View(ctx, func(tx *eventstore.Tx) error {
		return tx.Events(domain.OrderAggregate, r.OrderID, 0, func(e envelope.Envelope) error {
			events = append(events, e)
			return nil
		})
	})
	if err == nil && len(events) == 0 {
		return nil, endpoint.NotFound("order_id %s: order not found", r.OrderID)
	}
	return client.History{Events: events}, err
}

// timeline answers an order's saga as the order service heard it, oldest
// event first, with where it stands and which service it waits for. It
// reads the timeline projection (timeline.go).
func (h handlers) timeline(ctx context.Context, r *service.ByOrderID) (any, error) {
	var t client.Timeline
	var ok bool
	err := h.store.View(ctx, func(tx *eventstore.Tx) (err error) {
		t, ok, err = sagaTimeline(tx, r.OrderID)
		return err
	})
	if err == nil && !ok {
		return nil, endpoint.NotFound("order_id %s: order not found", r.OrderID)
	}
	return t, err
}
