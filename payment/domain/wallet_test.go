package domain_test

import (
	"errors"
	"math"
	"testing"

	"github.com/choreo-dev/choreo/payment/domain"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
)

func TestDeposit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		wallet  domain.Wallet
		amount  int64
		want    []envelope.Event
		wantErr error
	}{
		{name: "new wallet", wallet: domain.NewWallet("c1"), amount: 500,
			want: []envelope.Event{paymentevents.FundsDeposited{CustomerID: "c1", AmountCents: 500, BalanceCents: 500}}},
		{name: "adds to balance", wallet: domain.Wallet{CustomerID: "c1", BalanceCents: 200, Exists: true}, amount: 500,
			want: []envelope.Event{paymentevents.FundsDeposited{CustomerID: "c1", AmountCents: 500, BalanceCents: 700}}},
		{name: "up to max", wallet: domain.Wallet{CustomerID: "c1", BalanceCents: math.MaxInt64 - 1, Exists: true}, amount: 1,
			want: []envelope.Event{paymentevents.FundsDeposited{CustomerID: "c1", AmountCents: 1, BalanceCents: math.MaxInt64}}},
		{name: "zero", wallet: domain.NewWallet("c1"), amount: 0, wantErr: domain.ErrInvalidAmount},
		{name: "negative", wallet: domain.NewWallet("c1"), amount: -5, wantErr: domain.ErrInvalidAmount},
		{name: "overflow", wallet: domain.Wallet{CustomerID: "c1", BalanceCents: math.MaxInt64, Exists: true}, amount: 1,
			wantErr: domain.ErrBalanceOverflow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.Deposit(tc.wallet, "c1", tc.amount)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			envelopetest.Equal(t, "events", got, tc.want)
		})
	}
}

func TestEvolveWallet(t *testing.T) {
	t.Parallel()
	events := []envelope.Event{
		paymentevents.FundsDeposited{CustomerID: "c1", AmountCents: 1000, BalanceCents: 1000},
		domain.WalletDebited{OrderID: "o1", AmountCents: 300},
		paymentevents.PaymentCompleted{OrderID: "o1"}, // another aggregate's: ignored
		domain.WalletCredited{OrderID: "o1", AmountCents: 300},
		domain.WalletDebited{OrderID: "o2", AmountCents: 700},
		paymentevents.FundsDeposited{CustomerID: "c1", AmountCents: 50, BalanceCents: 350},
	}
	got := envelopetest.Fold(domain.NewWallet("c1"), domain.EvolveWallet, events...)
	envelopetest.Equal(t, "wallet", got, domain.Wallet{CustomerID: "c1", BalanceCents: 350, Exists: true})
	envelopetest.CheckSnapshots(t, domain.NewWallet("c1"), domain.EvolveWallet, events)
	if w := domain.NewWallet("c1"); w.Exists || w.BalanceCents != 0 {
		t.Fatalf("new wallet = %+v", w)
	}
}

func TestDepositsAccumulate(t *testing.T) {
	t.Parallel()
	w := domain.NewWallet("c1")
	for _, amount := range []int64{100, 250, 1} {
		events, err := domain.Deposit(w, "c1", amount)
		if err != nil {
			t.Fatal(err)
		}
		w = envelopetest.Fold(w, domain.EvolveWallet, events...)
	}
	envelopetest.Equal(t, "balance", w.BalanceCents, int64(351))
}
