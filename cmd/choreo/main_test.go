package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/syncbuf"
)

// wait bounds how long a test waits for the stack to settle; generous for
// -race on small machines, and a passing check returns at once.
const wait = 30 * time.Second

type result struct {
	out, err string
	code     int
}

// choreo runs the CLI against s and returns its output and exit status.
func choreo(t *testing.T, s *sagatest.Stack, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	if s != nil {
		args = append([]string{"-server", s.NATS.URL(), "-timeout", "10s"}, args...)
	}
	err := run(t.Context(), args, &out, &errOut)
	code := report(&errOut, err)
	return result{out.String(), errOut.String(), code}
}

// ok runs the CLI and fails the test unless it exits 0.
func ok(t *testing.T, s *sagatest.Stack, args ...string) string {
	t.Helper()
	r := choreo(t, s, args...)
	if r.code != 0 {
		t.Fatalf("choreo %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// okJSON runs the CLI with -json and decodes its output into v.
func okJSON(t *testing.T, s *sagatest.Stack, v any, args ...string) {
	t.Helper()
	out := ok(t, s, append([]string{"-json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("choreo -json %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func contains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s: missing %q in\n%s", what, w, got)
		}
	}
}

func placeArgs(order, customer string, items ...string) []string {
	args := []string{"place", "-customer", customer, "-name", "Ada Lovelace", "-line1", "1 Analytical Way",
		"-city", "London", "-postal", "N1 9GU", "-country", "GB"}
	if order != "" {
		args = append(args, "-order", order)
	}
	for _, it := range items {
		args = append(args, "-item", it)
	}
	return args
}

func getOrder(t *testing.T, s *sagatest.Stack, id string) client.OrderView {
	t.Helper()
	var v client.OrderView
	okJSON(t, s, &v, "get", id)
	return v
}

func waitStatus(t *testing.T, s *sagatest.Stack, id, status string) {
	t.Helper()
	natstest.Eventually(t, wait, func() error {
		v, err := client.New(s.NC).Get(t.Context(), id)
		if err != nil {
			return err
		}
		if v.Status != status {
			return fmt.Errorf("order %s is %s, want %s", id, v.Status, status)
		}
		return nil
	})
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "no command given"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"-timeout", "0s", "get", "X"}, 2, "-timeout must be positive"},
		{[]string{"get"}, 2, "wrong number of arguments"},
		{[]string{"get", "A", "B"}, 2, "wrong number of arguments"},
		{[]string{"deposit", "ada", "ten"}, 2, `amount_cents must be an integer number of cents, not "ten"`},
		{[]string{"deposit", "ada", "99999999999999999999"}, 2, "amount_cents must be an integer number of cents"},
		{[]string{"restock", "widget", "1.5"}, 2, `quantity must be an integer, not "1.5"`},
		{[]string{"place", "-item", "SKU:1"}, 2, "want SKU:QTY:PRICE_CENTS"},
		{[]string{"cancel", "X", "-bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"-o", "yaml", "get", "X"}, 2, `--output must be text or json, not "yaml"`},
		{[]string{"depost", "ada", "1"}, 2, "did you mean deposit?"},
		{[]string{"place", "-customer"}, 2, "flag needs an argument: --customer"},
		{[]string{"dlq"}, 2, "no subcommand"},
		{[]string{"dlq", "frob"}, 2, `unknown subcommand "frob"`},
		{[]string{"dlq", "redrive"}, 2, "give either SEQ or -all"},
		{[]string{"dlq", "redrive", "3", "-all"}, 2, "give either SEQ or -all"},
		{[]string{"dlq", "redrive", "3", "-service", "order"}, 2, "-service goes with -all"},
		{[]string{"dlq", "show", "zero"}, 2, "SEQ must be"},
		{[]string{"dlq", "ls", "-service", "order.>"}, 2, "not a service name"},
		{[]string{"dlq", "purge", "-all"}, 2, "add -yes"},
		{[]string{"help"}, 0, ""},
		{[]string{"help", "dlq"}, 0, ""},
		{[]string{"-h"}, 0, ""},
		{[]string{"place", "-h"}, 0, ""},
		{[]string{"place", "--help"}, 0, ""},
		{[]string{"help", "place"}, 0, ""},
		{[]string{"dlq", "redrive", "-help"}, 0, ""},
		{[]string{"-server", "nats://127.0.0.1:1", "-timeout", "100ms", "get", "X"}, 1, "connect to nats://127.0.0.1:1"},
	} {
		r := choreo(t, nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.err, tc.want) {
			t.Errorf("choreo %q: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.err, tc.code, tc.want)
		}
	}
	out := choreo(t, nil, "help", "dlq").out
	contains(t, "help dlq", out, "redrive.<dlq seq>.<original msg id>", "Choreo-Redriven-From")
	contains(t, "help", choreo(t, nil, "help").out, "deposit", "dlq", "completion", "one dash or two")
	contains(t, "place -h", choreo(t, nil, "place", "-h").out, "--wait", "-item SKU:QTY:PRICE_CENTS", "Without -order")
}

func TestWalletAndStock(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})

	contains(t, "deposit", ok(t, s, "deposit", "ada", "1234"), "ada: balance 12.34 (1234 cents)")
	ok(t, s, "deposit", "ada", "100")
	contains(t, "balance", ok(t, s, "balance", "ada"), "ada: balance 13.34 (1334 cents)")
	var b client.BalanceView
	okJSON(t, s, &b, "balance", "ada")
	if b != (client.BalanceView{CustomerID: "ada", BalanceCents: 1334}) {
		t.Errorf("balance -json = %+v", b)
	}

	contains(t, "restock", ok(t, s, "restock", "widget", "7"), "widget: 7 available, 0 reserved")
	var st client.StockView
	okJSON(t, s, &st, "stock", "widget")
	if st != (client.StockView{SKU: "widget", Available: 7}) {
		t.Errorf("stock -json = %+v", st)
	}
	// -o json (or -json, its older spelling) goes anywhere on the line.
	for _, args := range [][]string{
		{"-o", "json", "balance", "ada"}, {"balance", "ada", "-o", "json"}, {"balance", "-o", "json", "ada"},
		{"--output", "json", "balance", "ada"}, {"balance", "ada", "--output=json"}, {"balance", "ada", "-ojson"},
		{"-json", "balance", "ada"}, {"balance", "ada", "-json"}, {"balance", "ada", "--json"},
	} {
		var b client.BalanceView
		if err := json.Unmarshal([]byte(ok(t, s, args...)), &b); err != nil || b.BalanceCents != 1334 {
			t.Errorf("choreo %q: %+v, %v", args, b, err)
		}
	}
	if out := ok(t, s, "stock", "widget", "-json"); out != `{"sku":"widget","available":7,"reserved":0}`+"\n" {
		t.Errorf("stock widget -json printed %q", out)
	}
}

// TestNegativeAmounts: a negative amount is an argument, not a flag, and the
// service's range error names the field.
func TestNegativeAmounts(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"deposit", "bob", "-5"}, "invalid_argument (400): amount_cents must be between 1 and 1000000000"},
		{[]string{"deposit", "-o", "json", "bob", "-5"}, "invalid_argument (400): amount_cents must be between 1 and 1000000000"},
		{[]string{"restock", "sku", "-3"}, "invalid_argument (400): quantity must be between 1 and 1000000"},
		{[]string{"restock", "sku", "--", "-3"}, "invalid_argument (400): quantity must be between 1 and 1000000"},
	} {
		r := choreo(t, s, tc.args...)
		if r.code != 1 || !strings.Contains(r.err, tc.want) || r.out != "" {
			t.Errorf("choreo %q: exit %d, stdout %q, stderr %q; want exit 1 and %q", tc.args, r.code, r.out, r.err, tc.want)
		}
	}
	if _, err := client.New(s.NC).Balance(t.Context(), "bob"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("bob's wallet after the refused deposits: %v", err)
	}
}

func TestErrorReplies(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})

	r := choreo(t, s, "get", "nope")
	if r.code != 1 || !strings.Contains(r.err, "not_found (404): ") || !strings.Contains(r.err, "nope") {
		t.Errorf("get unknown order: exit %d, stderr %q", r.code, r.err)
	}
	r = choreo(t, s, "deposit", "ada", "0")
	if r.code != 1 || !strings.Contains(r.err, "invalid_argument (400): ") || !strings.Contains(r.err, "amount_cents") {
		t.Errorf("deposit 0: exit %d, stderr %q", r.code, r.err)
	}
	r = choreo(t, s, placeArgs("", "ada", "widget:0:100")...)
	if r.code != 1 || !strings.Contains(r.err, "items[0].quantity") {
		t.Errorf("place quantity 0: exit %d, stderr %q", r.code, r.err)
	}
	if r.out != "" {
		t.Errorf("an error reply printed %q on stdout", r.out)
	}
}

func TestPlaceWaitAndQueries(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	ok(t, s, "deposit", "ada", "10000")
	ok(t, s, "restock", "widget", "10")
	ok(t, s, "restock", "gadget", "10")

	// Flags after the command's own, in either spelling.
	out := ok(t, s, append(placeArgs("o-1", "ada", "widget:2:500", "gadget:1:250"), "-wait", "-timeout", "10s")...)
	contains(t, "place -wait", out, "o-1", "completed", "payment=completed inventory=reserved shipping=scheduled",
		"12.50 USD", "widget x2 @ 5.00", "gadget x1 @ 2.50")

	// Without -order, -wait makes the id itself.
	var v client.OrderView
	okJSON(t, s, &v, append(placeArgs("", "ada", "widget:1:100"), "-wait")...)
	if v.OrderID == "" || v.Status != "completed" {
		t.Errorf("place -wait without -order = %+v", v)
	}
	generated := v.OrderID
	// Repeating a finished order's placement answers at once.
	contains(t, "place -wait again", ok(t, s, append(placeArgs("o-1", "ada", "widget:2:500", "gadget:1:250"), "-wait")...), "completed")

	// Without -wait the reply is the pending order.
	okJSON(t, s, &v, placeArgs("o-2", "bob", "widget:1:100")...)
	if v.OrderID != "o-2" || v.Status != "pending" {
		t.Errorf("place = %+v", v)
	}
	waitStatus(t, s, "o-2", "cancelled") // bob has no money

	contains(t, "get", ok(t, s, "get", "o-2"), "cancelled (payment_failed)")
	out = ok(t, s, "list", "-customer", "ada")
	contains(t, "list", out, "ORDER", "o-1", generated)
	if strings.Contains(out, "o-2") {
		t.Errorf("list -customer ada shows bob's order:\n%s", out)
	}
	var l struct{ Orders []client.OrderView }
	okJSON(t, s, &l, "list", "-status", "cancelled", "-limit", "5")
	if len(l.Orders) != 1 || l.Orders[0].OrderID != "o-2" {
		t.Errorf("list -status cancelled = %+v", l.Orders)
	}
	contains(t, "list none", ok(t, s, "list", "-customer", "nobody"), "no orders")

	out = ok(t, s, "history", "o-1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{"OrderPlaced", "OrderPaid", "OrderReserved", "OrderCompleted"}
	if len(lines) != 1+len(want) {
		t.Fatalf("history:\n%s", out)
	}
	for i, typ := range want {
		if f := strings.Fields(lines[1+i]); len(f) != 4 || f[0] != fmt.Sprint(i+1) || f[1] != typ {
			t.Errorf("history line %d = %q, want version %d %s", i+1, lines[1+i], i+1, typ)
		}
	}

	contains(t, "payment", ok(t, s, "payment", "o-1"), "charged", "12.50")
	contains(t, "shipment", ok(t, s, "shipment", "o-1"), "scheduled", "tracking")
	contains(t, "balance", ok(t, s, "balance", "ada"), "(8650 cents)")
	contains(t, "stock", ok(t, s, "stock", "widget"), "7 available, 3 reserved")
}

func TestPlaceWaitTimesOut(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	s.StopService("payment") // the saga cannot move

	r := choreo(t, s, append([]string{"-timeout", "300ms"}, append(placeArgs("stuck", "ada", "widget:1:100"), "-wait")...)...)
	if r.code != 1 || !strings.Contains(r.err, "order stuck is still pending") || !strings.Contains(r.out, "stuck") {
		t.Errorf("place -wait on a stuck saga: exit %d\nstdout %s\nstderr %s", r.code, r.out, r.err)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	s.StopService("payment") // keep the order pending

	ok(t, s, placeArgs("o-1", "ada", "widget:1:100")...)
	out := ok(t, s, "cancel", "o-1", "-reason", "changed my mind")
	contains(t, "cancel", out, "cancelled (customer_request)")
	if v := getOrder(t, s, "o-1"); v.Status != "cancelled" || v.CancelReason != "customer_request" {
		t.Errorf("after cancel: %+v", v)
	}
	r := choreo(t, s, "cancel", "o-1")
	if r.code != 1 || !strings.Contains(r.err, "conflict (409): ") {
		t.Errorf("second cancel: exit %d, stderr %q", r.code, r.err)
	}
}

func TestWatch(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	// One watcher for people, one printing JSON lines of order events.
	var out, errOut, jsonOut, jsonErr syncbuf.Buffer
	done := make(chan error, 2)
	go func() { done <- run(ctx, []string{"-server", s.NATS.URL(), "watch"}, &out, &errOut) }()
	go func() {
		done <- run(ctx, []string{"watch", "order.events.>", "-server", s.NATS.URL(), "-o", "json"}, &jsonOut, &jsonErr)
	}()
	natstest.Eventually(t, wait, func() error {
		if !strings.Contains(errOut.String(), "watching *.events.>") || !strings.Contains(jsonErr.String(), "watching order.events.>") {
			return fmt.Errorf("not watching yet: %q, %q", errOut.String(), jsonErr.String())
		}
		return nil
	})

	ok(t, s, "deposit", "ada", "1000")
	ok(t, s, "restock", "widget", "5")
	ok(t, s, append(placeArgs("o-w", "ada", "widget:1:100"), "-wait")...)
	natstest.Eventually(t, wait, func() error {
		for _, want := range []string{
			"payment.events.FundsDeposited.ada  FundsDeposited",
			"inventory.events.StockRestocked.widget  StockRestocked",
			"order.events.OrderPlaced.o-w  OrderPlaced  o-w",
			"shipping.events.ShipmentScheduled.o-w  ShipmentScheduled  o-w",
			"order.events.OrderCompleted.o-w  OrderCompleted  o-w",
		} {
			if !strings.Contains(out.String(), want) {
				return fmt.Errorf("missing %q in\n%s", want, out.String())
			}
		}
		var types []string
		for _, line := range strings.Split(strings.TrimSpace(jsonOut.String()), "\n") {
			var e envelope.Envelope
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("watch -o json printed %q: %v", line, err)
			}
			types = append(types, e.Type)
		}
		if got := strings.Join(types, " "); got != "OrderPlaced OrderPaid OrderReserved OrderCompleted" {
			return fmt.Errorf("watch -o json: %s", got)
		}
		return nil
	})
	cancel()
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("watch returned %v", err)
			}
		case <-time.After(wait):
			t.Fatal("watch did not stop")
		}
	}
}
