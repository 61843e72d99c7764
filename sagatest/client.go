package sagatest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/choreo-dev/choreo/inventory"
	"github.com/choreo-dev/choreo/order"
	orderdomain "github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shipping"
	"github.com/nats-io/nats.go"
)

// Item and Address are order.place's request shapes.
type (
	Item    = orderevents.Item
	Address = orderevents.Address
)

// PlaceRequest is order.place's request.
type PlaceRequest struct {
	OrderID         string  `json:"order_id,omitempty"`
	CustomerID      string  `json:"customer_id"`
	Items           []Item  `json:"items"`
	Currency        string  `json:"currency,omitempty"`
	ShippingAddress Address `json:"shipping_address"`
}

// Views are the contract's replies.
type (
	OrderView    = order.View
	BalanceView  = payment.BalanceView
	PaymentView  = payment.PaymentView
	StockView    = inventory.StockView
	ShipmentView = shipping.ShipmentView
	// Steps is the order view's steps.
	Steps = orderdomain.Steps
)

// Client speaks the contract on one connection and keeps a Ledger of what
// it deposited, restocked and placed, so invariants can be checked after.
type Client struct {
	NC     *nats.Conn
	Ledger *Ledger
}

// NewClient returns a client with an empty ledger.
func NewClient(nc *nats.Conn) *Client { return &Client{NC: nc, Ledger: NewLedger()} }

// Ledger is what a test knows it did: the expected side of every invariant.
type Ledger struct {
	mu        sync.Mutex
	Deposits  map[string]int64 // customer -> cents deposited
	Restocked map[string]int64 // sku -> units restocked
	Orders    map[string]PlaceRequest
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{Deposits: map[string]int64{}, Restocked: map[string]int64{}, Orders: map[string]PlaceRequest{}}
}

// Deposit credits a customer and records it.
func (c *Client) Deposit(customer string, cents int64) (BalanceView, error) {
	var v BalanceView
	err := Request(c.NC, "payment.deposit", map[string]any{"customer_id": customer, "amount_cents": cents}, &v)
	if err == nil {
		c.Ledger.mu.Lock()
		c.Ledger.Deposits[customer] += cents
		c.Ledger.mu.Unlock()
	}
	return v, err
}

// Restock adds stock and records it.
func (c *Client) Restock(sku string, qty int64) (StockView, error) {
	var v StockView
	err := Request(c.NC, "inventory.restock", map[string]any{"sku": sku, "quantity": qty}, &v)
	if err == nil {
		c.Ledger.mu.Lock()
		c.Ledger.Restocked[sku] += qty
		c.Ledger.mu.Unlock()
	}
	return v, err
}

// Place places an order and records it.
func (c *Client) Place(r PlaceRequest) (OrderView, error) {
	var v OrderView
	err := Request(c.NC, "order.place", r, &v)
	if err == nil {
		r.OrderID = v.OrderID
		c.Ledger.mu.Lock()
		c.Ledger.Orders[v.OrderID] = r
		c.Ledger.mu.Unlock()
	}
	return v, err
}

// Track records an order placed by other means (a retried place whose reply
// was lost, say).
func (l *Ledger) Track(r PlaceRequest) {
	l.mu.Lock()
	l.Orders[r.OrderID] = r
	l.mu.Unlock()
}

// Order reads an order view.
func (c *Client) Order(id string) (OrderView, error) {
	var v OrderView
	return v, Request(c.NC, "order.get", map[string]any{"order_id": id}, &v)
}

// Cancel asks order.cancel to cancel an order; note is the optional free
// text (the request's reason).
func (c *Client) Cancel(id, note string) (OrderView, error) {
	var v OrderView
	req := map[string]any{"order_id": id}
	if note != "" {
		req["reason"] = note
	}
	return v, Request(c.NC, "order.cancel", req, &v)
}

// History reads an order's stored events, oldest first.
func (c *Client) History(id string) ([]envelope.Envelope, error) {
	var v struct {
		Events []envelope.Envelope `json:"events"`
	}
	err := Request(c.NC, "order.history", map[string]any{"order_id": id}, &v)
	return v.Events, err
}

// ListRequest is order.list's request; zero fields are left out.
type ListRequest struct {
	CustomerID string `json:"customer_id,omitempty"`
	Status     string `json:"status,omitempty"`
	Limit      int    `json:"limit,omitempty"`
}

// List reads order views, newest first.
func (c *Client) List(r ListRequest) ([]OrderView, error) {
	var v struct {
		Orders []OrderView `json:"orders"`
	}
	err := Request(c.NC, "order.list", r, &v)
	return v.Orders, err
}

// Balance reads a wallet.
func (c *Client) Balance(customer string) (BalanceView, error) {
	var v BalanceView
	return v, Request(c.NC, "payment.balance", map[string]any{"customer_id": customer}, &v)
}

// Payment reads an order's payment.
func (c *Client) Payment(id string) (PaymentView, error) {
	var v PaymentView
	return v, Request(c.NC, "payment.get", map[string]any{"order_id": id}, &v)
}

// Stock reads a SKU.
func (c *Client) Stock(sku string) (StockView, error) {
	var v StockView
	return v, Request(c.NC, "inventory.get", map[string]any{"sku": sku}, &v)
}

// Shipment reads an order's shipment.
func (c *Client) Shipment(id string) (ShipmentView, error) {
	var v ShipmentView
	return v, Request(c.NC, "shipping.get", map[string]any{"order_id": id}, &v)
}

// Summary counts a checked run.
type Summary struct {
	Sagas, Completed, Cancelled int
}

// CheckInvariants checks every invariant of the contract's section 4 for all
// orders, customers and SKUs in the ledger, through the public queries. It
// returns every violation found (nil if none). Call it at a quiet moment:
// with Eventually, since compensations travel asynchronously.
func (c *Client) CheckInvariants() (Summary, error) {
	l := c.Ledger
	l.mu.Lock()
	orders := make([]PlaceRequest, 0, len(l.Orders))
	for _, o := range l.Orders {
		orders = append(orders, o)
	}
	deposits, restocked := clone(l.Deposits), clone(l.Restocked)
	l.mu.Unlock()
	sort.Slice(orders, func(i, j int) bool { return orders[i].OrderID < orders[j].OrderID })

	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	var sum Summary
	charged := map[string]int64{}  // customer -> totals of completed orders
	reserved := map[string]int64{} // sku -> quantities of completed orders
	customers := map[string]bool{}
	for c := range deposits {
		customers[c] = true
	}
	for _, req := range orders {
		sum.Sagas++
		customers[req.CustomerID] = true
		v, err := c.Order(req.OrderID)
		if err != nil {
			fail("order %s: order.get: %v", req.OrderID, err)
			continue
		}
		pay, payErr := c.Payment(req.OrderID)
		ship, shipErr := c.Shipment(req.OrderID)
		switch v.Status {
		case "completed":
			sum.Completed++
			charged[v.CustomerID] += v.TotalCents
			for _, it := range v.Items {
				reserved[it.SKU] += it.Quantity
			}
			if payErr != nil || pay.Status != "charged" || pay.AmountCents != v.TotalCents {
				fail("order %s completed but payment is %+v (%v)", v.OrderID, pay, payErr)
			}
			if shipErr != nil || ship.Status != "scheduled" {
				fail("order %s completed but shipment is %+v (%v)", v.OrderID, ship, shipErr)
			}
			if v.Steps.Payment != "completed" || v.Steps.Inventory != "reserved" || v.Steps.Shipping != "scheduled" {
				fail("order %s completed with steps %+v", v.OrderID, v.Steps)
			}
		case "cancelled":
			sum.Cancelled++
			if payErr == nil && pay.Status == "charged" {
				fail("order %s cancelled but its payment is still charged", v.OrderID)
			} else if payErr != nil && !IsCode(payErr, "not_found") {
				fail("order %s: payment.get: %v", v.OrderID, payErr)
			}
			if shipErr == nil && ship.Status == "scheduled" {
				fail("order %s cancelled but its shipment is still scheduled", v.OrderID)
			} else if shipErr != nil && !IsCode(shipErr, "not_found") {
				fail("order %s: shipping.get: %v", v.OrderID, shipErr)
			}
			// The steps show every compensation once it has been heard.
			if payErr == nil && pay.Status == "refunded" && v.Steps.Payment != "refunded" {
				fail("order %s: payment refunded but steps.payment is %q", v.OrderID, v.Steps.Payment)
			}
			if shipErr == nil && ship.Status == "cancelled" && v.Steps.Shipping != "cancelled" {
				fail("order %s: shipment cancelled but steps.shipping is %q", v.OrderID, v.Steps.Shipping)
			}
			if v.Steps.Payment == "completed" || v.Steps.Inventory == "reserved" || v.Steps.Shipping == "scheduled" {
				fail("order %s cancelled with a step left standing: %+v", v.OrderID, v.Steps)
			}
		default:
			fail("order %s is %s, not terminal", v.OrderID, v.Status)
		}
	}
	for cust := range customers {
		want := deposits[cust] - charged[cust]
		b, err := c.Balance(cust)
		switch {
		case IsCode(err, "not_found") && want == 0:
		case err != nil:
			fail("customer %s: payment.balance: %v", cust, err)
		case b.BalanceCents != want:
			fail("customer %s: balance %d, want deposits %d - completed totals %d = %d", cust, b.BalanceCents, deposits[cust], charged[cust], want)
		}
	}
	for sku, total := range restocked {
		s, err := c.Stock(sku)
		if err != nil {
			fail("sku %s: inventory.get: %v", sku, err)
			continue
		}
		if s.Available+s.Reserved != total {
			fail("sku %s: available %d + reserved %d != restocked %d", sku, s.Available, s.Reserved, total)
		}
		if s.Reserved != reserved[sku] {
			fail("sku %s: reserved %d, want %d (completed orders)", sku, s.Reserved, reserved[sku])
		}
	}
	if len(errs) > 10 {
		errs = append(errs[:10], fmt.Errorf("… and %d more", len(errs)-10))
	}
	return sum, errors.Join(errs...)
}

func clone(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Addr is a served test address in country cc.
func Addr(cc string) Address {
	return Address{Name: "Ada Lovelace", Line1: "1 Analytical Way", City: "London", PostalCode: "N1 9GU", Country: strings.ToUpper(cc)}
}
