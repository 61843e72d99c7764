package client

import (
	"time"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// Item and Address are an order line and a shipping address, as order.place
// takes them and the order view and the saga's events carry them. Money is in
// integer cents; Country is an ISO 3166-1 alpha-2 code.
type (
	Item    = orderevents.Item
	Address = orderevents.Address
)

// PlaceRequest is order.place's request. Without OrderID the service makes
// one (a UUIDv7); with one, placing the same content again answers the
// existing order, and other content is ErrConflict. Currency defaults to the
// service's (USD).
type PlaceRequest struct {
	OrderID         string  `json:"order_id,omitempty"`
	CustomerID      string  `json:"customer_id"`
	Items           []Item  `json:"items"`
	Currency        string  `json:"currency,omitempty"`
	ShippingAddress Address `json:"shipping_address"`
}

// ListRequest is order.list's request; zero fields are left out: every
// customer, every status, the service's default limit (50).
type ListRequest struct {
	CustomerID string `json:"customer_id,omitempty"`
	Status     string `json:"status,omitempty"`
	Limit      int    `json:"limit,omitempty"`
}

// OrderView is the order view: what order.place, order.cancel, order.get and
// order.list answer.
type OrderView struct {
	OrderID         string    `json:"order_id"`
	CustomerID      string    `json:"customer_id"`
	Items           []Item    `json:"items"`
	TotalCents      int64     `json:"total_cents"`
	Currency        string    `json:"currency"`
	ShippingAddress Address   `json:"shipping_address"`
	Status          string    `json:"status"`        // pending, paid, reserved, completed or cancelled
	CancelReason    string    `json:"cancel_reason"` // payment_failed, insufficient_stock, shipping_failed, customer_request or timeout
	Steps           Steps     `json:"steps"`
	Version         uint64    `json:"version"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// Terminal reports whether the order's saga is over: completed or cancelled.
func (v OrderView) Terminal() bool { return v.Status == "completed" || v.Status == "cancelled" }

// Steps is where each saga step of an order stands.
type Steps struct {
	Payment   string `json:"payment"`   // pending, completed, failed or refunded
	Inventory string `json:"inventory"` // pending, reserved, failed or released
	Shipping  string `json:"shipping"`  // pending, scheduled, failed or cancelled
}

// OrderList is order.list's reply, newest first.
type OrderList struct {
	Orders []OrderView `json:"orders"`
}

// History is order.history's reply: the order aggregate's stored events,
// oldest first.
type History struct {
	Events []envelope.Envelope `json:"events"`
}

// BalanceView is payment.deposit's and payment.balance's reply.
type BalanceView struct {
	CustomerID   string `json:"customer_id"`
	BalanceCents int64  `json:"balance_cents"`
}

// PaymentView is payment.get's reply.
type PaymentView struct {
	OrderID     string `json:"order_id"`
	PaymentID   string `json:"payment_id"`
	CustomerID  string `json:"customer_id"`
	AmountCents int64  `json:"amount_cents"`
	Status      string `json:"status"` // charged, declined or refunded
}

// StockView is inventory.restock's and inventory.get's reply.
type StockView struct {
	SKU       string `json:"sku"`
	Available int64  `json:"available"`
	Reserved  int64  `json:"reserved"`
}

// ShipmentView is shipping.get's reply.
type ShipmentView struct {
	OrderID        string `json:"order_id"`
	ShipmentID     string `json:"shipment_id"`
	Status         string `json:"status"` // scheduled, failed or cancelled
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
}

// The other requests: the methods take their fields as arguments.
type (
	byOrderID struct {
		OrderID string `json:"order_id"`
	}
	byCustomerID struct {
		CustomerID string `json:"customer_id"`
	}
	bySKU struct {
		SKU string `json:"sku"`
	}
	cancelRequest struct {
		OrderID string `json:"order_id"`
		Reason  string `json:"reason,omitempty"`
	}
	depositRequest struct {
		CustomerID  string `json:"customer_id"`
		AmountCents int64  `json:"amount_cents"`
	}
	restockRequest struct {
		SKU      string `json:"sku"`
		Quantity int64  `json:"quantity"`
	}
)

// Timeline is order.timeline's reply: every event of the order's saga, from
// all four services, oldest first, where the saga stands and which service
// it waits for. WaitingOn is nil once the saga is over: completed, or
// cancelled with every compensation recorded.
type Timeline struct {
	OrderID   string          `json:"order_id"`
	Status    string          `json:"status"`
	WaitingOn *string         `json:"waiting_on"`
	Events    []TimelineEvent `json:"events"`
}

// TimelineEvent is one event of a saga's timeline: who published it, on
// which subject, when it occurred and when the order service recorded it,
// and what caused it (a command's or another event's id).
type TimelineEvent struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Service     string    `json:"service"`
	Subject     string    `json:"subject"`
	OccurredAt  time.Time `json:"occurred_at"`
	RecordedAt  time.Time `json:"recorded_at"`
	CausationID string    `json:"causation_id"`
}
