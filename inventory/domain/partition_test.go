package domain_test

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/choreo-dev/choreo/inventory/domain"
	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// owner is JetStream's partition(): FNV-1a of the key, mod n.
func owner(n int) func(string) int {
	return func(key string) int {
		h := fnv.New32a()
		h.Write([]byte(key))
		return int(h.Sum32() % uint32(n))
	}
}

// partition is one inventory partition: its SKUs, its orders' parts and the
// allocations it is home for.
type partition struct {
	p      domain.Placement
	skus   map[string]domain.SKU
	res    map[string]domain.Reservation
	alloc  map[string]domain.Allocation
	counts map[string]int // public outcomes by type, for this partition's orders
}

// delivery is an event on its way to a partition.
type delivery struct {
	to int
	ev envelope.Event
}

// world is a partitioned inventory and the order side around it: it pays,
// cancels at random and cancels on a failed reservation.
type world struct {
	t      *testing.T
	rng    *rand.Rand
	parts  []*partition
	queue  []delivery
	public []envelope.Event // every outcome published, in order
	placed map[string][]orderevents.Item
	ended  map[string]bool // OrderCancelled sent
}

func newWorld(t *testing.T, rng *rand.Rand, n int, skus []string, stock int64) *world {
	w := &world{t: t, rng: rng, placed: map[string][]orderevents.Item{}, ended: map[string]bool{}}
	for i := range n {
		w.parts = append(w.parts, &partition{p: domain.Placement{Part: i, Count: n, Owner: owner(n)},
			skus: map[string]domain.SKU{}, res: map[string]domain.Reservation{}, alloc: map[string]domain.Allocation{}})
	}
	for _, sku := range skus {
		p := w.parts[owner(n)(sku)]
		ev, _ := domain.Restock(domain.NewSKU(sku), sku, stock)
		p.skus[sku] = domain.EvolveSKU(domain.NewSKU(sku), ev[0])
	}
	return w
}

// publish sends a partition's outcome where the deployment routes it.
func (w *world) publish(events ...envelope.Event) {
	n := len(w.parts)
	for _, ev := range events {
		switch e := ev.(type) {
		case inventoryevents.StockPartReserved, inventoryevents.StockPartFailed, inventoryevents.StockPartReleased:
			w.queue = append(w.queue, delivery{owner(n)(e.(envelope.Correlated).Correlation()), ev})
		case inventoryevents.StockReservationFailed:
			w.public = append(w.public, ev)
			for i := range n { // every part ends its share
				w.queue = append(w.queue, delivery{i, ev})
			}
			w.cancel(e.OrderID) // the order cancels on it
		case inventoryevents.StockReserved, inventoryevents.StockReleased:
			w.public = append(w.public, ev)
		case paymentevents.PaymentCompleted, orderevents.OrderCancelled:
			for i := range n {
				w.queue = append(w.queue, delivery{i, ev})
			}
		}
	}
}

func (w *world) cancel(orderID string) {
	if w.ended[orderID] {
		return
	}
	w.ended[orderID] = true
	w.publish(orderevents.OrderCancelled{OrderID: orderID, Reason: orderevents.ReasonInsufficientStock})
}

// deliver hands a partition one event, as the service's reactions do.
func (w *world) deliver(d delivery) {
	p := w.parts[d.to]
	res := func(id string) domain.Reservation {
		if r, ok := p.res[id]; ok {
			return r
		}
		return domain.NewReservation(id)
	}
	alloc := func(id string) domain.Allocation {
		if a, ok := p.alloc[id]; ok {
			return a
		}
		return domain.NewAllocation(id)
	}
	apply := func(id string, re []envelope.Event, se map[string][]envelope.Event) {
		for _, e := range re {
			p.res[id] = domain.EvolveReservation(res(id), e)
		}
		for sku, events := range se {
			if owner(len(w.parts))(sku) != p.p.Part {
				w.t.Fatalf("partition %d wrote SKU %s, owned by %d", p.p.Part, sku, owner(len(w.parts))(sku))
			}
			for _, e := range events {
				p.skus[sku] = domain.EvolveSKU(p.skus[sku], e)
			}
		}
		w.publish(re...)
	}
	home := func(id string, events []envelope.Event) {
		if !p.p.IsHome(id) {
			w.t.Fatalf("partition %d decided the allocation of %s, whose home is %d", p.p.Part, id, p.p.Home(id))
		}
		for _, e := range events {
			p.alloc[id] = domain.EvolveAllocation(alloc(id), e)
		}
		w.publish(events...)
	}
	switch e := d.ev.(type) {
	case paymentevents.PaymentCompleted:
		if p.p.Direct(e.OrderID, e.Items) {
			re, se, err := domain.OnPaymentCompleted(res(e.OrderID), p.skus, e)
			if err != nil {
				w.t.Fatal(err)
			}
			apply(e.OrderID, re, se)
			return
		}
		re, se, err := domain.OnPaymentCompletedPart(res(e.OrderID), p.skus, e, p.p)
		if err != nil {
			w.t.Fatal(err)
		}
		apply(e.OrderID, re, se)
		if p.p.IsHome(e.OrderID) {
			home(e.OrderID, domain.OnPaymentCompletedHome(alloc(e.OrderID), e, p.p))
		}
	case orderevents.OrderCancelled:
		re, se := domain.OnOrderCancelled(res(e.OrderID), e)
		apply(e.OrderID, re, se)
		if p.p.IsHome(e.OrderID) {
			home(e.OrderID, domain.OnOrderCancelledHome(alloc(e.OrderID), e))
		}
	case inventoryevents.StockReservationFailed:
		re, se := domain.OnReservationFailed(res(e.OrderID), e)
		apply(e.OrderID, re, se)
	case inventoryevents.StockPartReserved:
		home(e.OrderID, domain.OnPartReserved(alloc(e.OrderID), e))
	case inventoryevents.StockPartFailed:
		home(e.OrderID, domain.OnPartFailed(alloc(e.OrderID), e))
	case inventoryevents.StockPartReleased:
		home(e.OrderID, domain.OnPartReleased(alloc(e.OrderID), e))
	}
}

// run delivers everything queued, in random order, some of it twice, with
// random cancellations by the order side.
func (w *world) run() {
	for len(w.queue) > 0 {
		i := w.rng.IntN(len(w.queue))
		d := w.queue[i]
		if w.rng.IntN(10) > 0 { // one in ten is delivered again later
			w.queue = slices.Delete(w.queue, i, i+1)
		}
		w.deliver(d)
		if w.rng.IntN(40) == 0 {
			ids := slices.Sorted(func(yield func(string) bool) {
				for id := range w.placed {
					if !yield(id) {
						return
					}
				}
			})
			w.cancel(ids[w.rng.IntN(len(ids))])
		}
	}
}

// TestPartitionedReservations drives orders whose lines span partitions
// through random interleavings, duplicates and cancellations, and checks at
// the quiet end: no partition wrote a SKU or an allocation it does not own;
// every SKU has available + reserved = restocked; reserved is exactly what
// the orders that are reserved and not cancelled hold; each order has one
// outcome at most, and StockReleased only after StockReserved and a
// cancellation, once.
func TestPartitionedReservations(t *testing.T) {
	t.Parallel()
	skus := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 0xfeed))
			n := 2 + rng.IntN(3)
			w := newWorld(t, rng, n, skus, 6)
			w.t = t
			for o := range 6 {
				id := fmt.Sprintf("o%d", o)
				var items []orderevents.Item
				for range 1 + rng.IntN(4) {
					items = append(items, orderevents.Item{SKU: skus[rng.IntN(len(skus))], Quantity: 1 + rng.Int64N(3), UnitPriceCents: 1})
				}
				w.placed[id] = items
				w.publish(paymentevents.PaymentCompleted{OrderID: id, Items: items})
			}
			w.run()
			check(t, w, skus, 6)
		})
	}
}

func check(t *testing.T, w *world, skus []string, stock int64) {
	t.Helper()
	outcome := map[string][]string{}
	for _, ev := range w.public {
		id := ev.(envelope.Correlated).Correlation()
		outcome[id] = append(outcome[id], ev.EventType())
	}
	reserved := map[string]int64{}
	for id, items := range w.placed {
		got := outcome[id]
		switch {
		case slices.Equal(got, []string{"StockReserved"}):
			if w.ended[id] {
				t.Errorf("%s: reserved, cancelled, never released: %v", id, got)
			}
			for _, it := range items {
				reserved[it.SKU] += it.Quantity
			}
		case slices.Equal(got, []string{"StockReserved", "StockReleased"}):
			if !w.ended[id] {
				t.Errorf("%s: released without a cancellation", id)
			}
		case slices.Equal(got, []string{"StockReservationFailed"}):
		case len(got) == 0:
			if !w.ended[id] {
				t.Errorf("%s: no outcome and not cancelled", id)
			}
		default:
			t.Errorf("%s: outcomes %v", id, got)
		}
	}
	for _, sku := range skus {
		s := w.parts[owner(len(w.parts))(sku)].skus[sku]
		if s.Available+s.Reserved != stock || s.Available < 0 || s.Reserved < 0 {
			t.Errorf("%s: available %d + reserved %d != %d", sku, s.Available, s.Reserved, stock)
		}
		if s.Reserved != reserved[sku] {
			t.Errorf("%s: reserved %d, but the standing reservations hold %d", sku, s.Reserved, reserved[sku])
		}
	}
}
