package domain

import (
	"fmt"
	"math"

	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
)

// WalletAggregate is the Wallet aggregate's type name in the event store.
const WalletAggregate = "wallet"

// Wallet is a customer's money. Exists is false until the wallet's first event
// (a query for a wallet that does not exist is a not-found).
type Wallet struct {
	CustomerID   string `json:"customer_id"`
	BalanceCents int64  `json:"balance_cents"`
	Exists       bool   `json:"exists"`
}

// NewWallet returns the state of a wallet with no events.
func NewWallet(customerID string) Wallet { return Wallet{CustomerID: customerID} }

// EvolveWallet folds one event into a wallet. Events of other types leave it
// unchanged.
func EvolveWallet(w Wallet, e envelope.Event) Wallet {
	switch e := e.(type) {
	case paymentevents.FundsDeposited:
		w.BalanceCents = e.BalanceCents
	case WalletDebited:
		w.BalanceCents -= e.AmountCents
	case WalletCredited:
		w.BalanceCents += e.AmountCents
	default:
		return w
	}
	w.Exists = true
	return w
}

// Deposit adds amount cents to the customer's wallet.
func Deposit(w Wallet, customerID string, amount int64) ([]envelope.Event, error) {
	if amount <= 0 {
		return nil, fmt.Errorf("deposit %d: %w", amount, ErrInvalidAmount)
	}
	if w.BalanceCents > math.MaxInt64-amount {
		return nil, fmt.Errorf("deposit %d: %w", amount, ErrBalanceOverflow)
	}
	return []envelope.Event{paymentevents.FundsDeposited{
		CustomerID:   customerID,
		AmountCents:  amount,
		BalanceCents: w.BalanceCents + amount,
	}}, nil
}
