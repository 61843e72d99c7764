package endpoint_test

import "github.com/choreo-dev/choreo/shared/endpoint"

// placeOrder is a request type shaped like the contract's order.place.
type placeOrder struct {
	OrderID         string   `json:"order_id,omitempty"`
	CustomerID      string   `json:"customer_id"`
	Items           []item   `json:"items"`
	Currency        string   `json:"currency,omitempty"`
	ShippingAddress *address `json:"shipping_address"`
}

type item struct {
	SKU            string `json:"sku"`
	Quantity       *int64 `json:"quantity"`
	UnitPriceCents *int64 `json:"unit_price_cents"`
}

type address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

func (r *placeOrder) Validate() error {
	var p endpoint.Problems
	p.OptionalID("order_id", r.OrderID)
	p.ID("customer_id", r.CustomerID)
	if n := len(r.Items); n < 1 || n > 100 {
		p.Add("items", "must have between 1 and 100 entries")
	}
	for i, it := range r.Items {
		p.ID(endpoint.Field("items", i, "sku"), it.SKU)
		p.Required(endpoint.Field("items", i, "quantity"), it.Quantity != nil)
		if it.Quantity != nil {
			p.IntRange(endpoint.Field("items", i, "quantity"), *it.Quantity, 1, 10_000)
		}
		if it.UnitPriceCents != nil {
			p.IntRange(endpoint.Field("items", i, "unit_price_cents"), *it.UnitPriceCents, 0, 100_000_000)
		}
	}
	if a := r.ShippingAddress; a == nil {
		p.Required("shipping_address", false)
	} else {
		p.Text("shipping_address.name", a.Name, true)
		p.Text("shipping_address.line1", a.Line1, false)
		p.Country("shipping_address.country", a.Country)
	}
	return p.Err()
}
