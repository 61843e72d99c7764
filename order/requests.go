package order

import (
	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/endpoint"
)

// Contract limits for order.place.
const (
	maxItems     = 100
	maxQuantity  = 10_000
	maxUnitPrice = 100_000_000
	maxListLimit = 1000
	defListLimit = 50
)

type itemRequest struct {
	SKU            string `json:"sku"`
	Quantity       *int64 `json:"quantity"`
	UnitPriceCents *int64 `json:"unit_price_cents"`
}

type addressRequest struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

type placeRequest struct {
	OrderID         string          `json:"order_id"`
	CustomerID      string          `json:"customer_id"`
	Items           []itemRequest   `json:"items"`
	Currency        string          `json:"currency"`
	ShippingAddress *addressRequest `json:"shipping_address"`
}

func (r *placeRequest) Validate() error {
	var p endpoint.Problems
	p.OptionalID("order_id", r.OrderID)
	p.ID("customer_id", r.CustomerID)
	if n := len(r.Items); n < 1 || n > maxItems {
		p.Add("items", "must have between 1 and %d entries, got %d", maxItems, n)
	}
	for i, it := range r.Items {
		if i >= maxItems {
			break
		}
		p.ID(endpoint.Field("items", i, "sku"), it.SKU)
		q := endpoint.Field("items", i, "quantity")
		p.Required(q, it.Quantity != nil)
		if it.Quantity != nil {
			p.IntRange(q, *it.Quantity, 1, maxQuantity)
		}
		u := endpoint.Field("items", i, "unit_price_cents")
		p.Required(u, it.UnitPriceCents != nil)
		if it.UnitPriceCents != nil {
			p.IntRange(u, *it.UnitPriceCents, 0, maxUnitPrice)
		}
	}
	if r.Currency != "" && !isCurrency(r.Currency) {
		p.Add("currency", "must be a three-letter ISO 4217 code in upper case, got %q", r.Currency)
	}
	p.Required("shipping_address", r.ShippingAddress != nil)
	if a := r.ShippingAddress; a != nil {
		p.Text("shipping_address.name", a.Name, true)
		p.Text("shipping_address.line1", a.Line1, true)
		p.Text("shipping_address.city", a.City, true)
		p.Text("shipping_address.postal_code", a.PostalCode, true)
		p.Country("shipping_address.country", a.Country)
	}
	if err := p.Err(); err != nil {
		return err
	}
	if _, err := domain.Total(r.items()); err != nil {
		return endpoint.Invalid("items: the order total must fit in int64")
	}
	return nil
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func (r *placeRequest) items() []orderevents.Item {
	items := make([]orderevents.Item, len(r.Items))
	for i, it := range r.Items {
		items[i] = orderevents.Item{SKU: it.SKU, Quantity: deref(it.Quantity), UnitPriceCents: deref(it.UnitPriceCents)}
	}
	return items
}

func (r *placeRequest) command(orderID string) domain.PlaceOrder {
	a := r.ShippingAddress
	return domain.PlaceOrder{
		OrderID: orderID, CustomerID: r.CustomerID, Items: r.items(), Currency: r.Currency,
		ShippingAddress: orderevents.Address{Name: a.Name, Line1: a.Line1, City: a.City, PostalCode: a.PostalCode, Country: a.Country},
	}
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

type cancelRequest struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}

func (r *cancelRequest) Validate() error {
	var p endpoint.Problems
	p.ID("order_id", r.OrderID)
	p.Text("reason", r.Reason, false)
	return p.Err()
}

type listRequest struct {
	CustomerID string `json:"customer_id"`
	Status     string `json:"status"`
	Limit      *int64 `json:"limit"`
}

func (r *listRequest) Validate() error {
	var p endpoint.Problems
	p.OptionalID("customer_id", r.CustomerID)
	switch r.Status {
	case "", domain.StatusPending, domain.StatusPaid, domain.StatusReserved, domain.StatusCompleted, domain.StatusCancelled:
	default:
		p.Add("status", "must be one of pending, paid, reserved, completed, cancelled, got %q", r.Status)
	}
	if r.Limit != nil {
		p.IntRange("limit", *r.Limit, 1, maxListLimit)
	}
	return p.Err()
}
