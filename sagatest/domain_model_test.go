package sagatest_test

// This test runs the four services' pure domains together, in memory, as the
// contract's choreography wires them, delivering events in random order and
// more than once, and checks the contract's saga invariants once all is quiet.
// It lives here because the domains are pure and need no infrastructure; an
// end-to-end suite over NATS checks the same invariants for real.

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"

	inventory "github.com/choreo-dev/choreo/inventory/domain"
	"github.com/choreo-dev/choreo/inventory/inventoryevents"
	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/order/orderevents"
	payment "github.com/choreo-dev/choreo/payment/domain"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	shipping "github.com/choreo-dev/choreo/shipping/domain"
	"github.com/choreo-dev/choreo/shipping/shippingevents"
)

var subscribers = map[string][]string{
	"OrderPlaced":            {"payment"},
	"OrderCancelled":         {"payment", "inventory", "shipping"},
	"PaymentCompleted":       {"inventory", "order"},
	"PaymentFailed":          {"order"},
	"PaymentRefunded":        {"order"},
	"StockReserved":          {"shipping", "order"},
	"StockReservationFailed": {"order"},
	"StockReleased":          {"order"},
	"ShipmentScheduled":      {"order"},
	"ShipmentFailed":         {"order"},
	"ShipmentCancelled":      {"order"},
}

// publicRegistry knows which event types are published, and by whom.
var publicRegistry = func() *envelope.Registry {
	r := envelope.NewRegistry()
	orderevents.Register(r)
	paymentevents.Register(r)
	inventoryevents.Register(r)
	shippingevents.Register(r)
	return r
}()

type sim struct {
	t        *testing.T
	rng      *rand.Rand
	ids      int
	orders   map[string]domain.Order
	orderLog map[string][]envelope.Event
	wallets  map[string]payment.Wallet
	payments map[string]payment.Payment
	skus     map[string]inventory.SKU
	res      map[string]inventory.Reservation
	ships    map[string]shipping.Shipment
	queues   map[string][]envelope.Event // consumer → undelivered events
	deposits map[string]int64
	restocks map[string]int64
}

func getOr[S any](m map[string]S, id string, zero func(string) S) S {
	if s, ok := m[id]; ok {
		return s
	}
	return zero(id)
}

func (s *sim) newID() string { s.ids++; return fmt.Sprintf("id-%04x", s.ids) }

func (s *sim) publish(events []envelope.Event) {
	for _, e := range events {
		if publicRegistry.Publisher(e.EventType()) == "" {
			continue
		}
		subs, ok := subscribers[e.EventType()]
		if !ok && e.EventType() != "OrderPaid" && e.EventType() != "OrderReserved" && e.EventType() != "OrderCompleted" {
			s.t.Fatalf("no route for %s", e.EventType())
		}
		for _, sub := range subs {
			s.queues[sub] = append(s.queues[sub], e)
		}
	}
}

func (s *sim) orderEvents(id string, events []envelope.Event, err error) {
	if err != nil {
		s.t.Fatalf("order %s: %v", id, err)
	}
	s.orders[id] = envelopetest.Fold(getOr(s.orders, id, domain.NewOrder), domain.EvolveOrder, events...)
	s.orderLog[id] = append(s.orderLog[id], events...)
	s.publish(events)
}

func (s *sim) paymentEvents(orderID, customerID string, pe, we []envelope.Event) {
	s.payments[orderID] = envelopetest.Fold(getOr(s.payments, orderID, payment.NewPayment), payment.EvolvePayment, pe...)
	if len(we) > 0 {
		s.wallets[customerID] = envelopetest.Fold(getOr(s.wallets, customerID, payment.NewWallet), payment.EvolveWallet, we...)
	}
	s.publish(pe)
}

func (s *sim) inventoryEvents(orderID string, re []envelope.Event, se map[string][]envelope.Event) {
	s.res[orderID] = envelopetest.Fold(getOr(s.res, orderID, inventory.NewReservation), inventory.EvolveReservation, re...)
	for sku, events := range se {
		s.skus[sku] = envelopetest.Fold(getOr(s.skus, sku, inventory.NewSKU), inventory.EvolveSKU, events...)
	}
	s.publish(re)
}

func (s *sim) deliver(consumer string, e envelope.Event) {
	switch consumer {
	case "payment":
		switch e := e.(type) {
		case orderevents.OrderPlaced:
			pe, we, err := payment.OnOrderPlaced(getOr(s.payments, e.OrderID, payment.NewPayment),
				getOr(s.wallets, e.CustomerID, payment.NewWallet), e, s.newID())
			if err != nil {
				s.t.Fatal(err)
			}
			s.paymentEvents(e.OrderID, e.CustomerID, pe, we)
		case orderevents.OrderCancelled:
			p := getOr(s.payments, e.OrderID, payment.NewPayment)
			pe, we := payment.OnOrderCancelled(p, e)
			s.paymentEvents(e.OrderID, p.CustomerID, pe, we)
		}
	case "inventory":
		switch e := e.(type) {
		case paymentevents.PaymentCompleted:
			re, se, err := inventory.OnPaymentCompleted(getOr(s.res, e.OrderID, inventory.NewReservation), s.skus, e)
			if err != nil {
				s.t.Fatal(err)
			}
			s.inventoryEvents(e.OrderID, re, se)
		case orderevents.OrderCancelled:
			re, se := inventory.OnOrderCancelled(getOr(s.res, e.OrderID, inventory.NewReservation), e)
			s.inventoryEvents(e.OrderID, re, se)
		}
	case "shipping":
		var events []envelope.Event
		var id string
		switch e := e.(type) {
		case inventoryevents.StockReserved:
			id = e.OrderID
			events = shipping.OnStockReserved(getOr(s.ships, id, shipping.NewShipment), e,
				map[string]bool{"US": true, "DE": true}, s.newID())
		case orderevents.OrderCancelled:
			id = e.OrderID
			events = shipping.OnOrderCancelled(getOr(s.ships, id, shipping.NewShipment), e)
		}
		s.ships[id] = envelopetest.Fold(getOr(s.ships, id, shipping.NewShipment), shipping.EvolveShipment, events...)
		s.publish(events)
	case "order":
		var events []envelope.Event
		var err error
		var id string
		switch e := e.(type) {
		case paymentevents.PaymentCompleted:
			id = e.OrderID
			events, err = domain.OnPaymentCompleted(s.orders[id], e)
		case paymentevents.PaymentFailed:
			id = e.OrderID
			events, err = domain.OnPaymentFailed(s.orders[id], e)
		case paymentevents.PaymentRefunded:
			id = e.OrderID
			events, err = domain.OnPaymentRefunded(s.orders[id], e)
		case inventoryevents.StockReserved:
			id = e.OrderID
			events, err = domain.OnStockReserved(s.orders[id], e)
		case inventoryevents.StockReservationFailed:
			id = e.OrderID
			events, err = domain.OnStockReservationFailed(s.orders[id], e)
		case inventoryevents.StockReleased:
			id = e.OrderID
			events, err = domain.OnStockReleased(s.orders[id], e)
		case shippingevents.ShipmentScheduled:
			id = e.OrderID
			events, err = domain.OnShipmentScheduled(s.orders[id], e)
		case shippingevents.ShipmentFailed:
			id = e.OrderID
			events, err = domain.OnShipmentFailed(s.orders[id], e)
		case shippingevents.ShipmentCancelled:
			id = e.OrderID
			events, err = domain.OnShipmentCancelled(s.orders[id], e)
		}
		s.orderEvents(id, events, err)
	}
}

func TestSagaInvariantsUnderRandomDelivery(t *testing.T) {
	t.Parallel()
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			runSaga(t, rand.New(rand.NewPCG(seed, 0xc0ffee)))
		})
	}
}

func runSaga(t *testing.T, rng *rand.Rand) {
	s := &sim{t: t, rng: rng, orders: map[string]domain.Order{}, orderLog: map[string][]envelope.Event{},
		wallets: map[string]payment.Wallet{}, payments: map[string]payment.Payment{},
		skus: map[string]inventory.SKU{}, res: map[string]inventory.Reservation{},
		ships: map[string]shipping.Shipment{}, queues: map[string][]envelope.Event{},
		deposits: map[string]int64{}, restocks: map[string]int64{}}
	customers, skus := []string{"c1", "c2", "c3"}, []string{"A", "B", "C"}
	for _, c := range customers {
		amount := 1 + rng.Int64N(3000)
		events, err := payment.Deposit(getOr(s.wallets, c, payment.NewWallet), c, amount)
		if err != nil {
			t.Fatal(err)
		}
		s.wallets[c] = envelopetest.Fold(getOr(s.wallets, c, payment.NewWallet), payment.EvolveWallet, events...)
		s.deposits[c] += amount
	}
	for _, k := range skus {
		qty := 1 + rng.Int64N(8)
		events, err := inventory.Restock(getOr(s.skus, k, inventory.NewSKU), k, qty)
		if err != nil {
			t.Fatal(err)
		}
		s.skus[k] = envelopetest.Fold(getOr(s.skus, k, inventory.NewSKU), inventory.EvolveSKU, events...)
		s.restocks[k] += qty
	}

	const orders = 8
	placedN := 0
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	countries := []string{"US", "DE", "BR"}
	for {
		var busy []string
		for _, c := range []string{"order", "payment", "inventory", "shipping"} {
			if len(s.queues[c]) > 0 {
				busy = append(busy, c)
			}
		}
		if len(busy) == 0 && placedN == orders {
			break
		}
		switch n := rng.IntN(20); {
		case n == 0 && placedN < orders, len(busy) == 0:
			id := fmt.Sprintf("o%d", placedN)
			placedN++
			var items []orderevents.Item
			for range 1 + rng.IntN(3) {
				items = append(items, orderevents.Item{SKU: skus[rng.IntN(len(skus))], Quantity: 1 + rng.Int64N(3), UnitPriceCents: rng.Int64N(400)})
			}
			cmd := domain.PlaceOrder{OrderID: id, CustomerID: customers[rng.IntN(len(customers))], Items: items,
				ShippingAddress: orderevents.Address{Name: "N", Line1: "L", City: "C", PostalCode: "P", Country: countries[rng.IntN(len(countries))]}}
			events, err := domain.Place(getOr(s.orders, id, domain.NewOrder), cmd, start, 30*time.Second)
			s.orderEvents(id, events, err)
		case n == 1 && placedN > 0:
			id := fmt.Sprintf("o%d", rng.IntN(placedN))
			events, err := domain.Cancel(s.orders[id], orderevents.ReasonCustomerRequest, "")
			if err == nil {
				s.orderEvents(id, events, nil)
			}
		case n == 2 && placedN > 0:
			id := fmt.Sprintf("o%d", rng.IntN(placedN))
			s.orderEvents(id, domain.Expire(s.orders[id], start.Add(time.Minute)), nil)
		default:
			if len(busy) == 0 {
				continue
			}
			c := busy[rng.IntN(len(busy))]
			q := s.queues[c]
			i := rng.IntN(len(q))
			e := q[i]
			if rng.IntN(4) != 0 { // otherwise: redelivered later
				s.queues[c] = slices.Delete(q, i, i+1)
			}
			s.deliver(c, e)
		}
	}
	checkSagaInvariants(t, s)
}

func checkSagaInvariants(t *testing.T, s *sim) {
	t.Helper()
	balance := maps.Clone(s.deposits)
	standing := map[string]int64{}
	for id, o := range s.orders {
		p, r, sh := s.payments[id], s.res[id], s.ships[id]
		switch o.Status {
		case domain.StatusCompleted:
			balance[o.CustomerID] -= o.TotalCents
			for _, it := range o.Items {
				standing[it.SKU] += it.Quantity
			}
			if p.Status != payment.StatusCharged || r.Status != inventory.StatusReserved || sh.Status != shipping.StatusScheduled {
				t.Errorf("completed %s: payment %q, reservation %q, shipment %q", id, p.Status, r.Status, sh.Status)
			}
			if o.Steps != (domain.Steps{Payment: domain.StepCompleted, Inventory: domain.StepReserved, Shipping: domain.StepScheduled}) {
				t.Errorf("completed %s: steps %+v", id, o.Steps)
			}
		case domain.StatusCancelled:
			if p.Status == payment.StatusCharged || r.Status == inventory.StatusReserved || sh.Status == shipping.StatusScheduled {
				t.Errorf("cancelled %s left standing: payment %q, reservation %q, shipment %q", id, p.Status, r.Status, sh.Status)
			}
			want := domain.Steps{
				Payment:   map[string]string{"": domain.StepPending, payment.StatusDeclined: domain.StepFailed, payment.StatusRefunded: domain.StepRefunded}[p.Status],
				Inventory: map[string]string{"": domain.StepPending, inventory.StatusFailed: domain.StepFailed, inventory.StatusReleased: domain.StepReleased}[r.Status],
				Shipping:  map[string]string{"": domain.StepPending, shipping.StatusFailed: domain.StepFailed, shipping.StatusCancelled: domain.StepCancelled}[sh.Status],
			}
			if o.Steps != want {
				t.Errorf("cancelled %s (%s): steps %+v, want %+v", id, o.CancelReason, o.Steps, want)
			}
		default:
			t.Errorf("order %s is %q at quiescence", id, o.Status)
		}
		terminal := 0
		for _, e := range s.orderLog[id] {
			if e.EventType() == "OrderCompleted" || e.EventType() == "OrderCancelled" {
				terminal++
			}
		}
		if terminal != 1 {
			t.Errorf("order %s has %d terminal events", id, terminal)
		}
	}
	for c, want := range balance {
		if got := s.wallets[c].BalanceCents; got != want {
			t.Errorf("customer %s balance %d, want deposits − completed totals = %d", c, got, want)
		}
	}
	for k, restocked := range s.restocks {
		sku := s.skus[k]
		if sku.Available < 0 || sku.Available+sku.Reserved != restocked || sku.Reserved != standing[k] {
			t.Errorf("sku %s: %+v, restocked %d, completed orders hold %d", k, sku, restocked, standing[k])
		}
	}
}
