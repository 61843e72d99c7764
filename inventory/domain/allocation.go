package domain

import (
	"maps"
	"slices"

	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// AllocationAggregate is the Allocation aggregate's type name.
const AllocationAggregate = "allocation"

// Allocation is the order's reservation as its home partition collects it
// when the order's lines span partitions (see Placement). It publishes the
// contract's outcomes: StockReserved once every involved part reserved its
// lines, StockReservationFailed once they all reported and one could not
// (naming the first SKU short of stock, in item order), and — if it had
// published StockReserved and the order was then cancelled — StockReleased
// once every part gave its lines back. Parts may report before the home hears
// the payment, and in any order; every decision is idempotent.
type Allocation struct {
	OrderID  string              `json:"order_id"`
	Opened   bool                `json:"opened"`
	Items    []orderevents.Item  `json:"items,omitempty"`
	Address  orderevents.Address `json:"address"`
	Involved []int               `json:"involved,omitempty"`
	Reserved map[int]bool        `json:"reserved,omitempty"` // parts that reserved their lines
	Failed   map[int]PartFailure `json:"failed,omitempty"`   // parts that could not
	Released map[int]bool        `json:"released,omitempty"` // parts that gave their lines back
	Outcome  string              `json:"outcome,omitempty"`  // StatusReserved or StatusFailed once published
	Ended    bool                `json:"ended,omitempty"`    // the order was cancelled
	Returned bool                `json:"returned,omitempty"` // StockReleased published
}

// PartFailure is what a part that could not reserve reported.
type PartFailure struct {
	SKU       string `json:"sku"`
	Requested int64  `json:"requested"`
	Available int64  `json:"available"`
}

// NewAllocation returns the state of an order's allocation with no events.
func NewAllocation(orderID string) Allocation { return Allocation{OrderID: orderID} }

// The allocation's private events.
type (
	// AllocationOpened: the home heard the payment, and with it the order's
	// lines, address and the parts involved.
	AllocationOpened struct {
		OrderID  string              `json:"order_id"`
		Items    []orderevents.Item  `json:"items"`
		Address  orderevents.Address `json:"address"`
		Involved []int               `json:"involved"`
	}
	// PartRecorded: a part's report (reserved, failed or released).
	PartRecorded struct {
		OrderID  string       `json:"order_id"`
		Part     int          `json:"part"`
		Reserved bool         `json:"reserved,omitempty"`
		Failure  *PartFailure `json:"failure,omitempty"`
		Released bool         `json:"released,omitempty"`
	}
	// AllocationEnded: the order was cancelled.
	AllocationEnded struct {
		OrderID string `json:"order_id"`
	}
)

func (AllocationOpened) EventType() string { return "AllocationOpened" }
func (PartRecorded) EventType() string     { return "PartRecorded" }
func (AllocationEnded) EventType() string  { return "AllocationEnded" }

// EvolveAllocation folds one event into an allocation.
func EvolveAllocation(a Allocation, e envelope.Event) Allocation {
	switch e := e.(type) {
	case AllocationOpened:
		a.Opened, a.Items, a.Address, a.Involved = true, slices.Clone(e.Items), e.Address, slices.Clone(e.Involved)
	case PartRecorded:
		switch {
		case e.Released:
			a.Released = with(a.Released, e.Part, true)
		case e.Reserved:
			a.Reserved = with(a.Reserved, e.Part, true)
		case e.Failure != nil:
			a.Failed = with(a.Failed, e.Part, *e.Failure)
		}
	case AllocationEnded:
		a.Ended = true
	case inventoryevents.StockReserved:
		a.Outcome = StatusReserved
	case inventoryevents.StockReservationFailed:
		a.Outcome = StatusFailed
	case inventoryevents.StockReleased:
		a.Returned = true
	}
	return a
}

// with returns a copy of m with k set to v: states are values, shared by
// the cache, so a map in one is never changed in place.
func with[V any](m map[int]V, k int, v V) map[int]V {
	out := maps.Clone(m)
	if out == nil {
		out = map[int]V{}
	}
	out[k] = v
	return out
}

// OnPaymentCompletedHome opens the order's allocation at its home: which
// parts to wait for, and what StockReserved will carry.
func OnPaymentCompletedHome(a Allocation, e paymentevents.PaymentCompleted, p Placement) []envelope.Event {
	if a.Opened {
		return nil
	}
	opened := AllocationOpened{OrderID: e.OrderID, Items: slices.Clone(e.Items), Address: e.ShippingAddress, Involved: p.Involved(e.Items)}
	return append([]envelope.Event{opened}, decide(EvolveAllocation(a, opened))...)
}

// OnPartReserved records a part's reservation.
func OnPartReserved(a Allocation, e inventoryevents.StockPartReserved) []envelope.Event {
	if a.Reserved[e.Part] {
		return nil
	}
	return record(a, PartRecorded{OrderID: e.OrderID, Part: e.Part, Reserved: true})
}

// OnPartFailed records a part's failure.
func OnPartFailed(a Allocation, e inventoryevents.StockPartFailed) []envelope.Event {
	if _, ok := a.Failed[e.Part]; ok {
		return nil
	}
	return record(a, PartRecorded{OrderID: e.OrderID, Part: e.Part,
		Failure: &PartFailure{SKU: e.SKU, Requested: e.Requested, Available: e.Available}})
}

// OnPartReleased records that a part gave its lines back.
func OnPartReleased(a Allocation, e inventoryevents.StockPartReleased) []envelope.Event {
	if a.Released[e.Part] {
		return nil
	}
	return record(a, PartRecorded{OrderID: e.OrderID, Part: e.Part, Released: true})
}

// OnOrderCancelledHome records the order's end at its home.
func OnOrderCancelledHome(a Allocation, e orderevents.OrderCancelled) []envelope.Event {
	if a.Ended {
		return nil
	}
	return record(a, AllocationEnded{OrderID: e.OrderID})
}

func record(a Allocation, ev envelope.Event) []envelope.Event {
	return append([]envelope.Event{ev}, decide(EvolveAllocation(a, ev))...)
}

// decide returns what the allocation publishes now, given what it has heard.
func decide(a Allocation) []envelope.Event {
	if !a.Opened {
		return nil
	}
	var out []envelope.Event
	if a.Outcome == "" && a.reported() {
		if f, ok := a.firstFailure(); ok {
			out = append(out, inventoryevents.StockReservationFailed{OrderID: a.OrderID, SKU: f.SKU, Requested: f.Requested, Available: f.Available})
		} else if !a.Ended {
			out = append(out, inventoryevents.StockReserved{OrderID: a.OrderID, Items: slices.Clone(a.Items), ShippingAddress: a.Address})
			a.Outcome = StatusReserved
		}
	}
	if a.Outcome == StatusReserved && a.Ended && !a.Returned && a.allReleased() {
		out = append(out, inventoryevents.StockReleased{OrderID: a.OrderID, Items: slices.Clone(a.Items)})
	}
	return out
}

// reported reports whether every involved part has reported an outcome.
func (a Allocation) reported() bool {
	for _, p := range a.Involved {
		_, failed := a.Failed[p]
		if !a.Reserved[p] && !failed {
			return false
		}
	}
	return true
}

// allReleased reports whether every part that reserved has given back.
func (a Allocation) allReleased() bool {
	for p := range a.Reserved {
		if !a.Released[p] {
			return false
		}
	}
	return true
}

// firstFailure is the failure of the first line (in item order) whose part
// failed, as an unpartitioned inventory would name it.
func (a Allocation) firstFailure() (PartFailure, bool) {
	if len(a.Failed) == 0 {
		return PartFailure{}, false
	}
	for _, it := range a.Items {
		for _, f := range a.Failed {
			if f.SKU == it.SKU {
				return f, true
			}
		}
	}
	for _, p := range slices.Sorted(maps.Keys(a.Failed)) {
		return a.Failed[p], true
	}
	return PartFailure{}, false
}
