package domain_test

import (
	"errors"
	"testing"

	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/payment/domain"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/envelope/envelopetest"
)

var (
	items   = []orderevents.Item{{SKU: "A", Quantity: 2, UnitPriceCents: 150}}
	address = orderevents.Address{Name: "N", Line1: "L", City: "C", PostalCode: "P", Country: "US"}
	placed  = orderevents.OrderPlaced{OrderID: "o1", CustomerID: "c1", Items: items, TotalCents: 300,
		Currency: "USD", ShippingAddress: address}
	cancelled = orderevents.OrderCancelled{OrderID: "o1", Reason: orderevents.ReasonCustomerRequest}

	completed = paymentevents.PaymentCompleted{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300,
		Items: items, ShippingAddress: address}
	failed = paymentevents.PaymentFailed{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300,
		Reason: paymentevents.ReasonInsufficientFunds}
	refunded = paymentevents.PaymentRefunded{OrderID: "o1", PaymentID: "p1", CustomerID: "c1", AmountCents: 300}
)

func wallet(balance int64) domain.Wallet {
	return domain.Wallet{CustomerID: "c1", BalanceCents: balance, Exists: true}
}

func payment(events ...envelope.Event) domain.Payment {
	return envelopetest.Fold(domain.NewPayment("o1"), domain.EvolvePayment, events...)
}

func TestOnOrderPlaced(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		payment     domain.Payment
		wallet      domain.Wallet
		placed      orderevents.OrderPlaced
		wantPayment []envelope.Event
		wantWallet  []envelope.Event
		wantErr     error
	}{
		{name: "balance above total", payment: payment(), wallet: wallet(1000), placed: placed,
			wantPayment: []envelope.Event{completed},
			wantWallet:  []envelope.Event{domain.WalletDebited{OrderID: "o1", AmountCents: 300}}},
		{name: "balance equals total", payment: payment(), wallet: wallet(300), placed: placed,
			wantPayment: []envelope.Event{completed},
			wantWallet:  []envelope.Event{domain.WalletDebited{OrderID: "o1", AmountCents: 300}}},
		{name: "balance below total", payment: payment(), wallet: wallet(299), placed: placed,
			wantPayment: []envelope.Event{failed}},
		{name: "never deposited", payment: payment(), wallet: domain.NewWallet("c1"), placed: placed,
			wantPayment: []envelope.Event{failed}},
		{name: "already charged", payment: payment(completed), wallet: wallet(1000), placed: placed},
		{name: "already declined", payment: payment(failed), wallet: wallet(1000), placed: placed},
		{name: "already refunded", payment: payment(completed, refunded), wallet: wallet(1000), placed: placed},
		{name: "cancelled first", payment: payment(domain.PaymentCancellationNoted{OrderID: "o1"}), wallet: wallet(1000), placed: placed},
		{name: "negative total", payment: payment(), wallet: wallet(1000),
			placed: orderevents.OrderPlaced{OrderID: "o1", CustomerID: "c1", TotalCents: -1}, wantErr: domain.ErrInvalidEvent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, w, err := domain.OnOrderPlaced(tc.payment, tc.wallet, tc.placed, "p1")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			envelopetest.Equal(t, "payment events", p, tc.wantPayment)
			envelopetest.Equal(t, "wallet events", w, tc.wantWallet)
		})
	}
}

func TestOnOrderCancelled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		payment     domain.Payment
		wantPayment []envelope.Event
		wantWallet  []envelope.Event
	}{
		{name: "charged: refunds", payment: payment(completed),
			wantPayment: []envelope.Event{refunded},
			wantWallet:  []envelope.Event{domain.WalletCredited{OrderID: "o1", AmountCents: 300}}},
		{name: "nothing yet: notes", payment: payment(),
			wantPayment: []envelope.Event{domain.PaymentCancellationNoted{OrderID: "o1"}}},
		{name: "declined", payment: payment(failed)},
		{name: "refunded", payment: payment(completed, refunded)},
		{name: "already noted", payment: payment(domain.PaymentCancellationNoted{OrderID: "o1"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, w := domain.OnOrderCancelled(tc.payment, cancelled)
			envelopetest.Equal(t, "payment events", p, tc.wantPayment)
			envelopetest.Equal(t, "wallet events", w, tc.wantWallet)
		})
	}
}

// ledger is one customer's wallet and one order's payment, with their logs.
type ledger struct {
	p          domain.Payment
	w          domain.Wallet
	pLog, wLog []envelope.Event
}

func (l *ledger) apply(p, w []envelope.Event) {
	l.p = envelopetest.Fold(l.p, domain.EvolvePayment, p...)
	l.w = envelopetest.Fold(l.w, domain.EvolveWallet, w...)
	l.pLog, l.wLog = append(l.pLog, p...), append(l.wLog, w...)
}

func (l *ledger) place(t *testing.T) {
	t.Helper()
	p, w, err := domain.OnOrderPlaced(l.p, l.w, placed, "p1")
	if err != nil {
		t.Fatal(err)
	}
	l.apply(p, w)
}

func (l *ledger) cancel() { l.apply(domain.OnOrderCancelled(l.p, cancelled)) }

func TestSagaOrderings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		balance     int64
		steps       string // p = OrderPlaced, c = OrderCancelled
		wantStatus  string
		wantBalance int64
		wantNoted   bool
	}{
		{name: "charge", balance: 1000, steps: "p", wantStatus: domain.StatusCharged, wantBalance: 700},
		{name: "charge twice", balance: 1000, steps: "pp", wantStatus: domain.StatusCharged, wantBalance: 700},
		{name: "charge then cancel", balance: 1000, steps: "pc", wantStatus: domain.StatusRefunded, wantBalance: 1000},
		{name: "charge then cancel twice", balance: 1000, steps: "pcc", wantStatus: domain.StatusRefunded, wantBalance: 1000},
		{name: "charge, cancel, charge again", balance: 1000, steps: "pcpc", wantStatus: domain.StatusRefunded, wantBalance: 1000},
		{name: "cancel first never charges", balance: 1000, steps: "cp", wantBalance: 1000, wantNoted: true},
		{name: "cancel twice first", balance: 1000, steps: "ccpp", wantBalance: 1000, wantNoted: true},
		{name: "declined then cancel", balance: 10, steps: "pcp", wantStatus: domain.StatusDeclined, wantBalance: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			deposit := paymentevents.FundsDeposited{CustomerID: "c1", AmountCents: tc.balance, BalanceCents: tc.balance}
			l := &ledger{p: domain.NewPayment("o1"), w: domain.NewWallet("c1")}
			l.apply(nil, []envelope.Event{deposit})
			for _, s := range tc.steps {
				if s == 'p' {
					l.place(t)
				} else {
					l.cancel()
				}
			}
			envelopetest.Equal(t, "status", l.p.Status, tc.wantStatus)
			envelopetest.Equal(t, "balance", l.w.BalanceCents, tc.wantBalance)
			envelopetest.Equal(t, "cancel noted", l.p.CancelNoted, tc.wantNoted)
			charges, refunds := 0, 0
			for _, e := range l.pLog {
				switch e.(type) {
				case paymentevents.PaymentCompleted:
					charges++
				case paymentevents.PaymentRefunded:
					refunds++
				}
			}
			if charges > 1 || refunds > charges {
				t.Fatalf("%d charges, %d refunds", charges, refunds)
			}
			envelopetest.CheckSnapshots(t, domain.NewPayment("o1"), domain.EvolvePayment, l.pLog)
			envelopetest.CheckSnapshots(t, domain.NewWallet("c1"), domain.EvolveWallet, l.wLog)
		})
	}
}

func TestEvolvePaymentKeepsDecision(t *testing.T) {
	t.Parallel()
	got := payment(completed, refunded, orderevents.OrderPaid{OrderID: "o1"})
	envelopetest.Equal(t, "payment", got, domain.Payment{OrderID: "o1", Status: domain.StatusRefunded, PaymentID: "p1",
		CustomerID: "c1", AmountCents: 300})
	got = payment(failed)
	envelopetest.Equal(t, "payment", got, domain.Payment{OrderID: "o1", Status: domain.StatusDeclined, PaymentID: "p1",
		CustomerID: "c1", AmountCents: 300})
}

func TestRegisterPrivateEvents(t *testing.T) {
	t.Parallel()
	r := envelope.NewRegistry()
	domain.Register(r)
	paymentevents.Register(r) // no clash with the public types
	for _, e := range []envelope.Event{domain.WalletDebited{}, domain.WalletCredited{}, domain.PaymentCancellationNoted{}} {
		if !r.Knows(e.EventType()) {
			t.Errorf("%s not registered", e.EventType())
		}
		if r.Publisher(e.EventType()) != "" {
			t.Errorf("%s is registered as public", e.EventType())
		}
	}
}
