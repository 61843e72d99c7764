package sagatest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/nats-io/nats.go"
)

// Client is a contract client that keeps a Ledger of what it deposited,
// restocked and placed, so that the invariants can be checked after. Every
// other method is client.Client's.
type Client struct {
	*client.Client
	Ledger *Ledger
}

// NewClient returns a client on nc with an empty ledger. Its requests wait
// up to 10s for a reply: the suite runs under -race on small machines.
func NewClient(nc *nats.Conn) *Client {
	return &Client{Client: client.New(nc, client.WithTimeout(10*time.Second)), Ledger: NewLedger()}
}

// Ledger is what a test knows it did: the expected side of every invariant.
type Ledger struct {
	mu        sync.Mutex
	Deposits  map[string]int64 // customer -> cents deposited
	Restocked map[string]int64 // sku -> units restocked
	Orders    map[string]client.PlaceRequest
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{Deposits: map[string]int64{}, Restocked: map[string]int64{}, Orders: map[string]client.PlaceRequest{}}
}

// Deposit credits a customer and records it.
func (c *Client) Deposit(ctx context.Context, customer string, cents int64) (client.BalanceView, error) {
	v, err := c.Client.Deposit(ctx, customer, cents)
	if err == nil {
		c.Ledger.mu.Lock()
		c.Ledger.Deposits[customer] += cents
		c.Ledger.mu.Unlock()
	}
	return v, err
}

// Restock adds stock and records it.
func (c *Client) Restock(ctx context.Context, sku string, qty int64) (client.StockView, error) {
	v, err := c.Client.Restock(ctx, sku, qty)
	if err == nil {
		c.Ledger.mu.Lock()
		c.Ledger.Restocked[sku] += qty
		c.Ledger.mu.Unlock()
	}
	return v, err
}

// Place places an order and records it.
func (c *Client) Place(ctx context.Context, r client.PlaceRequest) (client.OrderView, error) {
	v, err := c.Client.Place(ctx, r)
	if err == nil {
		r.OrderID = v.OrderID
		c.Ledger.Track(r)
	}
	return v, err
}

// Track records an order placed by other means (a retried place whose reply
// was lost, say).
func (l *Ledger) Track(r client.PlaceRequest) {
	l.mu.Lock()
	l.Orders[r.OrderID] = r
	l.mu.Unlock()
}

// Summary counts a checked run.
type Summary struct {
	Sagas, Completed, Cancelled int
}

// CheckInvariants checks every invariant of the contract's section 4 for all
// orders, customers and SKUs in the ledger, through the public queries. It
// returns every violation found (nil if none). Call it at a quiet moment:
// with Eventually, since compensations travel asynchronously.
func (c *Client) CheckInvariants(ctx context.Context) (Summary, error) {
	l := c.Ledger
	l.mu.Lock()
	orders := make([]client.PlaceRequest, 0, len(l.Orders))
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
		v, err := c.Get(ctx, req.OrderID)
		if err != nil {
			fail("order %s: order.get: %v", req.OrderID, err)
			continue
		}
		pay, payErr := c.Payment(ctx, req.OrderID)
		ship, shipErr := c.Shipment(ctx, req.OrderID)
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
			} else if payErr != nil && !errors.Is(payErr, client.ErrNotFound) {
				fail("order %s: payment.get: %v", v.OrderID, payErr)
			}
			if shipErr == nil && ship.Status == "scheduled" {
				fail("order %s cancelled but its shipment is still scheduled", v.OrderID)
			} else if shipErr != nil && !errors.Is(shipErr, client.ErrNotFound) {
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
		b, err := c.Balance(ctx, cust)
		switch {
		case errors.Is(err, client.ErrNotFound) && want == 0:
		case err != nil:
			fail("customer %s: payment.balance: %v", cust, err)
		case b.BalanceCents != want:
			fail("customer %s: balance %d, want deposits %d - completed totals %d = %d", cust, b.BalanceCents, deposits[cust], charged[cust], want)
		}
	}
	for sku, total := range restocked {
		s, err := c.Stock(ctx, sku)
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
func Addr(cc string) client.Address {
	return client.Address{Name: "Ada Lovelace", Line1: "1 Analytical Way", City: "London", PostalCode: "N1 9GU", Country: strings.ToUpper(cc)}
}
