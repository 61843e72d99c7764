// Package orderevents holds the events the order service publishes on its
// ORDER_EVENTS stream, and the value types (Item, Address) that the other
// services' events reuse. It is the only part of the order service that
// another service may import.
package orderevents

import (
	"time"

	"github.com/choreo-dev/choreo/shared/envelope"
)

// Service is the order service's name: its micro service name, its subject
// prefix ("order.events.…") and its consumers' durable name.
const Service = "order"

// Cancellation reasons, as carried by OrderCancelled and shown in the order
// view's cancel_reason.
const (
	ReasonPaymentFailed     = "payment_failed"
	ReasonInsufficientStock = "insufficient_stock"
	ReasonShippingFailed    = "shipping_failed"
	ReasonCustomerRequest   = "customer_request"
	ReasonTimeout           = "timeout"
)

// Item is one order line. Money is in integer cents.
type Item struct {
	SKU            string `json:"sku"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

// Address is where an order ships to. Country is an ISO 3166-1 alpha-2 code.
type Address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// OrderPlaced opens a saga. It carries everything payment needs to decide.
// PlacedAt is the order's creation time; Deadline is when the order is
// cancelled with ReasonTimeout unless it completed first.
type OrderPlaced struct {
	OrderID         string    `json:"order_id"`
	CustomerID      string    `json:"customer_id"`
	Items           []Item    `json:"items"`
	TotalCents      int64     `json:"total_cents"`
	Currency        string    `json:"currency"`
	ShippingAddress Address   `json:"shipping_address"`
	PlacedAt        time.Time `json:"placed_at"`
	Deadline        time.Time `json:"deadline"`
}

// OrderPaid records that the order's payment succeeded. PaymentID is empty
// when the order learnt of the payment only through a later step's success.
type OrderPaid struct {
	OrderID   string `json:"order_id"`
	PaymentID string `json:"payment_id"`
}

// OrderReserved records that the order's stock is reserved.
type OrderReserved struct {
	OrderID string `json:"order_id"`
}

// OrderCompleted ends a saga successfully: paid, reserved and shipped.
type OrderCompleted struct {
	OrderID    string `json:"order_id"`
	ShipmentID string `json:"shipment_id"`
}

// OrderCancelled ends a saga unsuccessfully. Reason is one of the Reason
// constants; Note is the customer's free text for ReasonCustomerRequest.
// Every service that acted for the order compensates once on hearing it.
//
// CustomerID and SKUs name the order's customer and the SKUs of its lines:
// a partitioned deployment routes the cancellation by them to the payment
// partition that holds the customer's wallet and the inventory partitions
// that hold the stock (docs/contract.md, section 7).
type OrderCancelled struct {
	OrderID    string   `json:"order_id"`
	Reason     string   `json:"reason"`
	Note       string   `json:"note,omitempty"`
	CustomerID string   `json:"customer_id,omitempty"`
	SKUs       []string `json:"skus,omitempty"`
}

func (OrderPlaced) EventType() string    { return "OrderPlaced" }
func (OrderPaid) EventType() string      { return "OrderPaid" }
func (OrderReserved) EventType() string  { return "OrderReserved" }
func (OrderCompleted) EventType() string { return "OrderCompleted" }
func (OrderCancelled) EventType() string { return "OrderCancelled" }

// Correlation is the saga the event belongs to: its order id, which the
// envelope's correlation_id carries.
func (e OrderPlaced) Correlation() string    { return e.OrderID }
func (e OrderPaid) Correlation() string      { return e.OrderID }
func (e OrderReserved) Correlation() string  { return e.OrderID }
func (e OrderCompleted) Correlation() string { return e.OrderID }
func (e OrderCancelled) Correlation() string { return e.OrderID }

// Register adds every public order event type to r.
func Register(r *envelope.Registry) {
	envelope.RegisterPublic[OrderPlaced](r, Service)
	envelope.RegisterPublic[OrderPaid](r, Service)
	envelope.RegisterPublic[OrderReserved](r, Service)
	envelope.RegisterPublic[OrderCompleted](r, Service)
	envelope.RegisterPublic[OrderCancelled](r, Service)
}
