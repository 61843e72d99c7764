package domain

import (
	"fmt"
	"math"
	"slices"

	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// ReservationAggregate is the Reservation aggregate's type name in the event
// store.
const ReservationAggregate = "reservation"

// Reservation statuses. The empty status means inventory has decided nothing
// for the order yet.
const (
	StatusReserved = "reserved"
	StatusFailed   = "failed"
	StatusReleased = "released"
)

// Reservation is inventory's decision for one order. Items are the order's
// lines while reserved (and after release, for the record). CancelNoted is set
// when the order was cancelled before inventory decided: it then never
// reserves.
//
// In a partitioned inventory a Reservation is one partition's part of the
// order's reservation: Part says so, and PartNo which partition it is; its
// Items are the lines that partition owns.
type Reservation struct {
	OrderID     string             `json:"order_id"`
	Status      string             `json:"status"`
	CancelNoted bool               `json:"cancel_noted"`
	Items       []orderevents.Item `json:"items,omitempty"`
	Part        bool               `json:"part,omitempty"`
	PartNo      int                `json:"part_no,omitempty"`
}

// NewReservation returns the state of an order's reservation with no events.
func NewReservation(orderID string) Reservation { return Reservation{OrderID: orderID} }

// Decided reports whether inventory reserved the order or failed to.
func (r Reservation) Decided() bool { return r.Status != "" }

// EvolveReservation folds one event into a reservation. Events of other types
// leave it unchanged.
func EvolveReservation(r Reservation, e envelope.Event) Reservation {
	switch e := e.(type) {
	case inventoryevents.StockReserved:
		r.Status, r.Items = StatusReserved, slices.Clone(e.Items)
	case inventoryevents.StockReservationFailed:
		r.Status = StatusFailed
	case inventoryevents.StockReleased:
		r.Status = StatusReleased
	case inventoryevents.StockPartReserved:
		r.Status, r.Items, r.Part, r.PartNo = StatusReserved, slices.Clone(e.Items), true, e.Part
	case inventoryevents.StockPartFailed:
		r.Status, r.Part, r.PartNo = StatusFailed, true, e.Part
	case inventoryevents.StockPartReleased:
		r.Status = StatusReleased
	case ReservationCancellationNoted:
		r.CancelNoted = true
	}
	return r
}

// SKUs returns the distinct SKUs of items in order of first appearance: the
// SKU aggregates a reaction for these items reads or writes.
func SKUs(items []orderevents.Item) []string {
	var skus []string
	for _, it := range items {
		if !slices.Contains(skus, it.SKU) {
			skus = append(skus, it.SKU)
		}
	}
	return skus
}

// OnPaymentCompleted reserves every line of the paid order, or none. skus
// holds the current state of every SKU in e.Items (see SKUs); a SKU missing
// from it has no stock. Lines of the same SKU are summed. If some SKU lacks
// stock, the first such (in item order) is named in StockReservationFailed and
// no SKU changes. It returns the Reservation aggregate's events and each SKU
// aggregate's events by sku, and nothing if inventory already decided or the
// order was cancelled first.
func OnPaymentCompleted(r Reservation, skus map[string]SKU, e paymentevents.PaymentCompleted) (reservationEvents []envelope.Event, skuEvents map[string][]envelope.Event, err error) {
	if r.Decided() || r.CancelNoted {
		return nil, nil, nil
	}
	need, err := quantities(e.Items)
	if err != nil {
		return nil, nil, fmt.Errorf("order %s: %w", e.OrderID, err)
	}
	order := SKUs(e.Items)
	for _, sku := range order {
		if avail := skus[sku].Available; avail < need[sku] {
			return []envelope.Event{inventoryevents.StockReservationFailed{
				OrderID:   e.OrderID,
				SKU:       sku,
				Requested: need[sku],
				Available: avail,
			}}, nil, nil
		}
	}
	skuEvents = make(map[string][]envelope.Event, len(order))
	for _, sku := range order {
		skuEvents[sku] = []envelope.Event{SKUReserved{OrderID: e.OrderID, SKU: sku, Quantity: need[sku]}}
	}
	return []envelope.Event{inventoryevents.StockReserved{
		OrderID:         e.OrderID,
		Items:           slices.Clone(e.Items),
		ShippingAddress: e.ShippingAddress,
	}}, skuEvents, nil
}

// OnOrderCancelled compensates the order's reservation. A reservation is
// released once: StockReleased for the Reservation aggregate and SKUReleased
// for each of its SKUs. If inventory has decided nothing yet it notes the
// cancellation (ReservationCancellationNoted), so that a later
// PaymentCompleted never reserves. Otherwise it returns nothing. The SKUs
// written are SKUs(r.Items).
func OnOrderCancelled(r Reservation, e orderevents.OrderCancelled) (reservationEvents []envelope.Event, skuEvents map[string][]envelope.Event) {
	return release(r, e.OrderID)
}

// release gives a reservation (or a part of one) back once, and notes the
// end of an order not decided yet so that it is never reserved.
func release(r Reservation, orderID string) (reservationEvents []envelope.Event, skuEvents map[string][]envelope.Event) {
	switch {
	case r.Status == StatusReserved:
		need, _ := quantities(r.Items) // checked when reserved
		skuEvents = make(map[string][]envelope.Event, len(need))
		for sku, q := range need {
			skuEvents[sku] = []envelope.Event{SKUReleased{OrderID: r.OrderID, SKU: sku, Quantity: q}}
		}
		if r.Part {
			return []envelope.Event{inventoryevents.StockPartReleased{OrderID: r.OrderID, Part: r.PartNo, Items: slices.Clone(r.Items)}}, skuEvents
		}
		return []envelope.Event{inventoryevents.StockReleased{
			OrderID: r.OrderID,
			Items:   slices.Clone(r.Items),
		}}, skuEvents
	case !r.Decided() && !r.CancelNoted:
		return []envelope.Event{ReservationCancellationNoted{OrderID: orderID}}, nil
	}
	return nil, nil
}

// OnPaymentCompletedPart reserves, all or none, the lines of the paid order
// that partition p owns, as one part of a reservation that spans partitions
// (see Placement): StockPartReserved, or StockPartFailed naming the first
// of its SKUs short of stock. skus holds the state of those lines' SKUs. It
// returns nothing if p owns no line of the order, if this part already
// decided, or if the order ended first.
func OnPaymentCompletedPart(r Reservation, skus map[string]SKU, e paymentevents.PaymentCompleted, p Placement) (reservationEvents []envelope.Event, skuEvents map[string][]envelope.Event, err error) {
	own := p.Lines(e.Items)
	if len(own) == 0 {
		return nil, nil, nil
	}
	part := e
	part.Items = own
	re, se, err := OnPaymentCompleted(r, skus, part)
	if err != nil || len(re) == 0 {
		return nil, nil, err
	}
	switch out := re[0].(type) {
	case inventoryevents.StockReserved:
		return []envelope.Event{inventoryevents.StockPartReserved{OrderID: e.OrderID, Part: p.Part, Items: out.Items}}, se, nil
	case inventoryevents.StockReservationFailed:
		return []envelope.Event{inventoryevents.StockPartFailed{OrderID: e.OrderID, Part: p.Part, SKU: out.SKU,
			Requested: out.Requested, Available: out.Available}}, nil, nil
	}
	return nil, nil, fmt.Errorf("order %s: unexpected outcome %T", e.OrderID, re[0])
}

// OnReservationFailed ends this partition's part of an order whose
// reservation failed as a whole (another part was short of stock): a part
// reserved here is given back once (StockPartReleased); one not decided yet
// is noted, so that it never reserves.
func OnReservationFailed(r Reservation, e inventoryevents.StockReservationFailed) (reservationEvents []envelope.Event, skuEvents map[string][]envelope.Event) {
	if r.Status == StatusReserved && !r.Part {
		return nil, nil // a whole reservation is not ended by a failure: only by the cancellation
	}
	return release(r, e.OrderID)
}

// quantities sums the lines' quantities by SKU.
func quantities(items []orderevents.Item) (map[string]int64, error) {
	need := make(map[string]int64, len(items))
	for i, it := range items {
		if it.Quantity <= 0 {
			return nil, fmt.Errorf("items[%d].quantity %d: %w", i, it.Quantity, ErrInvalidEvent)
		}
		if need[it.SKU] > math.MaxInt64-it.Quantity {
			return nil, fmt.Errorf("items[%d].quantity %d: sum overflows: %w", i, it.Quantity, ErrInvalidEvent)
		}
		need[it.SKU] += it.Quantity
	}
	return need, nil
}
