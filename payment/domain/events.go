package domain

import "github.com/choreo-dev/choreo/shared/envelope"

// WalletDebited is a private Wallet event: an order's total taken from the
// balance. It is stored in payment's log and never published.
type WalletDebited struct {
	OrderID     string `json:"order_id"`
	AmountCents int64  `json:"amount_cents"`
}

// WalletCredited is a private Wallet event: a cancelled order's charge given
// back to the balance.
type WalletCredited struct {
	OrderID     string `json:"order_id"`
	AmountCents int64  `json:"amount_cents"`
}

// PaymentCancellationNoted is a private Payment event: the order was cancelled
// before payment decided anything, so it never will.
type PaymentCancellationNoted struct {
	OrderID string `json:"order_id"`
}

func (WalletDebited) EventType() string            { return "WalletDebited" }
func (WalletCredited) EventType() string           { return "WalletCredited" }
func (PaymentCancellationNoted) EventType() string { return "PaymentCancellationNoted" }

// Register adds payment's private event types to r. The public ones are
// registered by paymentevents.Register.
func Register(r *envelope.Registry) {
	envelope.Register[WalletDebited](r)
	envelope.Register[WalletCredited](r)
	envelope.Register[PaymentCancellationNoted](r)
}
