package strictjson_test

// order is shaped like the contract's order.place request.
type order struct {
	OrderID         string  `json:"order_id,omitempty"`
	CustomerID      string  `json:"customer_id"`
	Items           []line  `json:"items"`
	Currency        string  `json:"currency,omitempty"`
	ShippingAddress *postal `json:"shipping_address"`
}

type line struct {
	SKU            string `json:"sku"`
	Quantity       *int64 `json:"quantity"`
	UnitPriceCents *int64 `json:"unit_price_cents"`
}

type postal struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// loose covers more shapes: maps, embedded structs, small and floating
// numbers, booleans, bytes, free-form values.
type loose struct {
	Embedded
	Name   string            `json:"name"`
	Small  int8              `json:"small"`
	Big    uint64            `json:"big"`
	Ratio  float64           `json:"ratio"`
	OK     bool              `json:"ok"`
	Tags   []string          `json:"tags"`
	Raw    []byte            `json:"raw"`
	Pair   [1]inner          `json:"pair"`
	Counts map[string]int    `json:"counts"`
	Nested map[string]*inner `json:"nested"`
	Any    any               `json:"any"`
	Skip   string            `json:"-"`
	hidden string
}

type Embedded struct {
	Note string `json:"note"`
	Name int    // hidden by loose.Name
}

type inner struct {
	Values [2]int `json:"values"`
}
