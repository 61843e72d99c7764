package domain

import (
	"slices"

	"github.com/choreo-dev/choreo/order/orderevents"
)

// Placement says where things live when inventory runs as Count partitions:
// a SKU's stock in the partition its SKU hashes to, an order's allocation
// (the collector of its reservation's parts) in its home partition, the one
// its order id hashes to. Owner is that hash — JetStream's partition(), passed
// in so that the domain stays pure. This partition is Part.
type Placement struct {
	Part, Count int
	Owner       func(key string) int
}

// Whole is the placement of a one-partition inventory: it owns everything.
var Whole = Placement{Part: 0, Count: 1, Owner: func(string) int { return 0 }}

// Home is the partition that collects the order's reservation.
func (p Placement) Home(orderID string) int { return p.Owner(orderID) }

// IsHome reports whether this partition collects the order's reservation.
func (p Placement) IsHome(orderID string) bool { return p.Home(orderID) == p.Part }

// Lines returns the lines of items whose SKU this partition owns, in order.
func (p Placement) Lines(items []orderevents.Item) []orderevents.Item {
	var own []orderevents.Item
	for _, it := range items {
		if p.Owner(it.SKU) == p.Part {
			own = append(own, it)
		}
	}
	return own
}

// Involved returns the partitions owning some line of items, sorted.
func (p Placement) Involved(items []orderevents.Item) []int {
	var parts []int
	for _, it := range items {
		if o := p.Owner(it.SKU); !slices.Contains(parts, o) {
			parts = append(parts, o)
		}
	}
	slices.Sort(parts)
	return parts
}

// Direct reports whether this partition reserves the order on its own, in
// one transaction, as an unpartitioned inventory does: it owns every line and
// is the order's home. Always so with one partition.
func (p Placement) Direct(orderID string, items []orderevents.Item) bool {
	if !p.IsHome(orderID) {
		return false
	}
	for _, it := range items {
		if p.Owner(it.SKU) != p.Part {
			return false
		}
	}
	return true
}
