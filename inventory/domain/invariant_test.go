package domain_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/choreo-dev/choreo/inventory/domain"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
)

// store is an in-memory inventory: every aggregate's state and log.
type store struct {
	skus    map[string]domain.SKU
	res     map[string]domain.Reservation
	skuLog  map[string][]envelope.Event
	resLog  map[string][]envelope.Event
	skuList []string
}

func newStore(skus []string) *store {
	s := &store{skus: map[string]domain.SKU{}, res: map[string]domain.Reservation{},
		skuLog: map[string][]envelope.Event{}, resLog: map[string][]envelope.Event{}, skuList: skus}
	for _, id := range skus {
		s.skus[id] = domain.NewSKU(id)
	}
	return s
}

func (s *store) reservation(orderID string) domain.Reservation {
	if r, ok := s.res[orderID]; ok {
		return r
	}
	return domain.NewReservation(orderID)
}

func (s *store) apply(orderID string, resEvents []envelope.Event, skuEvents map[string][]envelope.Event) {
	s.res[orderID] = envelopetest.Fold(s.reservation(orderID), domain.EvolveReservation, resEvents...)
	s.resLog[orderID] = append(s.resLog[orderID], resEvents...)
	for id, events := range skuEvents {
		s.skus[id] = envelopetest.Fold(s.skus[id], domain.EvolveSKU, events...)
		s.skuLog[id] = append(s.skuLog[id], events...)
	}
}

// TestStockInvariantUnderRandomInterleavings drives several orders through
// random interleavings of restocks, payments and cancellations, delivered
// more than once, and checks after every step that for each SKU
// available + reserved == restocked total, that neither is negative, and that
// reserved equals the quantities of the reservations standing.
func TestStockInvariantUnderRandomInterleavings(t *testing.T) {
	t.Parallel()
	for seed := range uint64(200) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			runInterleaving(t, rand.New(rand.NewPCG(seed, 0x5eed)))
		})
	}
}

func runInterleaving(t *testing.T, rng *rand.Rand) {
	skus := []string{"A", "B", "C"}
	s := newStore(skus)
	const orders = 6
	payments := make([]paymentevents.PaymentCompleted, orders)
	for i := range payments {
		var items []orderevents.Item
		for range 1 + rng.IntN(4) {
			items = append(items, orderevents.Item{SKU: skus[rng.IntN(len(skus))], Quantity: 1 + rng.Int64N(5)})
		}
		payments[i] = paymentevents.PaymentCompleted{OrderID: fmt.Sprintf("o%d", i), Items: items}
	}
	cancelledFirst := map[string]bool{}
	heard := map[string]bool{}
	for step := range 80 {
		switch op := rng.IntN(3); op {
		case 0:
			id := skus[rng.IntN(len(skus))]
			events, err := domain.Restock(s.skus[id], id, 1+rng.Int64N(6))
			if err != nil {
				t.Fatal(err)
			}
			s.apply("", nil, map[string][]envelope.Event{id: events})
		case 1:
			p := payments[rng.IntN(orders)]
			heard[p.OrderID] = true
			r, e, err := domain.OnPaymentCompleted(s.reservation(p.OrderID), s.skus, p)
			if err != nil {
				t.Fatal(err)
			}
			s.apply(p.OrderID, r, e)
		case 2:
			id := fmt.Sprintf("o%d", rng.IntN(orders))
			if !heard[id] {
				cancelledFirst[id] = true
			}
			r, e := domain.OnOrderCancelled(s.reservation(id), orderevents.OrderCancelled{OrderID: id, Reason: orderevents.ReasonTimeout})
			s.apply(id, r, e)
		}
		checkStock(t, step, s)
	}
	for id := range cancelledFirst {
		for _, e := range s.resLog[id] {
			if e.EventType() == "StockReserved" {
				t.Fatalf("order %s cancelled before payment was reserved", id)
			}
		}
	}
	for id, log := range s.skuLog {
		envelopetest.CheckSnapshots(t, domain.NewSKU(id), domain.EvolveSKU, log)
	}
	for id, log := range s.resLog {
		if id == "" {
			continue
		}
		if got := envelopetest.Fold(domain.NewReservation(id), domain.EvolveReservation, log...); !reflect.DeepEqual(got, s.res[id]) {
			t.Fatalf("replay of %s = %+v, incremental %+v", id, got, s.res[id])
		}
	}
}

func checkStock(t *testing.T, step int, s *store) {
	t.Helper()
	standing := map[string]int64{}
	for id, r := range s.res {
		if r.Status == domain.StatusReserved {
			for _, it := range r.Items {
				standing[it.SKU] += it.Quantity
			}
		}
		reservedN, releasedN := 0, 0
		for _, e := range s.resLog[id] {
			switch e.EventType() {
			case "StockReserved":
				reservedN++
			case "StockReleased":
				releasedN++
			}
		}
		if reservedN > 1 || releasedN > reservedN {
			t.Fatalf("step %d: order %s reserved %d times, released %d times", step, id, reservedN, releasedN)
		}
	}
	for _, id := range s.skuList {
		k := s.skus[id]
		if k.Available < 0 || k.Reserved < 0 || k.Available+k.Reserved != k.Restocked {
			t.Fatalf("step %d: sku %s broke the invariant: %+v", step, id, k)
		}
		if k.Reserved != standing[id] {
			t.Fatalf("step %d: sku %s reserved %d, standing reservations hold %d", step, id, k.Reserved, standing[id])
		}
	}
}
