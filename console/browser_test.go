package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/payment/paymentevents"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The console in a real browser: headless Chromium, driven through the
// DevTools protocol (chromedp), on a real stack. Without a browser these
// tests skip, loudly, unless CHOREO_REQUIRE_BROWSER=1 (CI), where they fail.

// browserPath finds Chromium or Chrome: $CHOREO_BROWSER if set (and
// nothing else then), else the usual names on $PATH; "" if none is there.
func browserPath() string {
	if p := os.Getenv("CHOREO_BROWSER"); p != "" {
		p, _ = exec.LookPath(p)
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a headless browser for the test, stopped in t.Cleanup.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := browserPath()
	if path == "" {
		msg := "NO BROWSER FOUND: the console's browser tests did not run. Install Chromium (apt-get install chromium) or set CHOREO_BROWSER."
		if os.Getenv("CHOREO_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + " (CHOREO_REQUIRE_BROWSER=1)")
		}
		fmt.Fprintln(os.Stderr, "!!!", msg)
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.DisableGPU,
		chromedp.WindowSize(1360, 900), chromedp.UserDataDir(t.TempDir()))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses root otherwise (CI runs as root)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts it
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// tab is one page of the browser, which records every dialog and every
// uncaught script error: a test fails on either.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	dialogs []string
	errs    []string
}

func openTab(t *testing.T, browser context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	tb := &tab{t: t, ctx: ctx}
	if err := chromedp.Listen(ctx, func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch e := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			tb.dialogs = append(tb.dialogs, e.Type.String()+": "+e.Message)
			go func() { _, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{}) }()
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			tb.errs = append(tb.errs, fmt.Sprintf("%s (%s:%d:%d)", msg, d.URL, d.LineNumber+1, d.ColumnNumber+1))
		}
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tb.mu.Lock()
		if len(tb.errs) > 0 {
			t.Errorf("script errors in the page: %q", tb.errs)
		}
		tb.mu.Unlock()
		cancel()
	})
	return tb
}

// do runs steps, each wait bounded.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, wait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a script expression in the page.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, wait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("browser: %s: %v", expr, err)
	}
	return v
}

// text is the text of the first element matching sel, once it is visible.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	return eval[string](tb, fmt.Sprintf("document.querySelector(%q).textContent", sel))
}

// until waits until the script expression is true.
func (tb *tab) until(what, expr string) {
	tb.t.Helper()
	natstest.Eventually(tb.t, wait, func() error {
		if !eval[bool](tb, expr) {
			return fmt.Errorf("the page does not show %s yet", what)
		}
		return nil
	})
}

// TestInTheBrowser runs the console on a real stack and checks, in
// Chromium, what an operator relies on: the saga list follows new orders
// without a reload; a compensated saga shows its four lanes, its
// compensations and the arrows between its events; a dead letter redriven
// from the console (open, redrive, confirm) is handled exactly once; data
// is shown as text, never run; an action without the page's token, or from
// another origin, is refused.
func TestInTheBrowser(t *testing.T) {
	begin := time.Now()
	browser := newBrowser(t)
	w := start(t, sagatest.Options{})
	w.fund(map[string]int64{"ada": 1_000_000}, map[string]int64{"widget": 100})
	t.Logf("browser and stack up in %v", time.Since(begin).Round(time.Millisecond))

	t.Run("the saga list is live", func(t *testing.T) {
		tb := openTab(t, browser)
		w.place("first-1", "ada", "widget", 1, "GB")
		tb.do(chromedp.Navigate(w.url+"/sagas"), chromedp.WaitVisible(chromedp.CSS(`tr[data-order="first-1"]`)))
		eval[bool](tb, "window.stayed = true")
		w.place("live-1", "ada", "widget", 1, "GB")
		tb.until("the new order", `!!document.querySelector('tr[data-order="live-1"]')`)
		if !eval[bool](tb, "window.stayed === true") {
			t.Fatal("the page was reloaded to show the new order")
		}
		if got := eval[string](tb, `document.querySelector('tbody tr').dataset.order`); got != "live-1" {
			t.Errorf("the newest order is not first: %s", got)
		}
		w.over("live-1")
		tb.until("the order completed", `!!document.querySelector('tr[data-order="live-1"] [data-status="completed"]')`)
	})

	t.Run("a compensated saga", func(t *testing.T) {
		tb := openTab(t, browser)
		w.place("comp-1", "ada", "widget", 2, "BR") // shipping does not serve Brazil: refund and release
		w.over("comp-1")
		tb.do(chromedp.Navigate(w.url+"/sagas/comp-1"), chromedp.WaitVisible(chromedp.CSS("svg.swimlanes")))
		tb.until("every compensation done", `(document.getElementById('compensations')||{}).textContent === '✓ Every compensation is done.'`)
		lanes := eval[[]string](tb, `[...document.querySelectorAll('svg.swimlanes g.lane')].map(g => g.dataset.lane)`)
		if strings.Join(lanes, " ") != "order payment inventory shipping" {
			t.Errorf("lanes = %v", lanes)
		}
		comps := eval[[]string](tb, `[...document.querySelectorAll('svg.swimlanes g.ev.kind-compensation')].map(g => g.dataset.service + ':' + g.dataset.type).sort()`)
		if strings.Join(comps, " ") != "inventory:StockReleased payment:PaymentRefunded" {
			t.Errorf("compensation events = %v", comps)
		}
		arrows := eval[[]string](tb, `[...document.querySelectorAll('svg.swimlanes path.arrow')].map(p => p.dataset.from + '>' + p.dataset.to)`)
		for _, want := range []string{"OrderPlaced>PaymentCompleted", "StockReserved>ShipmentFailed", "ShipmentFailed>OrderCancelled",
			"OrderCancelled>PaymentRefunded", "OrderCancelled>StockReleased"} {
			if !strings.Contains(strings.Join(arrows, " "), want) {
				t.Errorf("no arrow %s in %v", want, arrows)
			}
		}
		contains(t, "where", tb.text("#where-headline"), "Cancelled because shipping does not serve the destination", "Every compensation is done")
	})

	t.Run("a dead letter redriven from the console is handled once", func(t *testing.T) {
		tb := openTab(t, browser)
		// An order the order service has never heard of is paid for (a
		// PaymentCompleted from nowhere): inventory reserves and shipping
		// schedules on it, and order gives up on both at once (an unknown
		// order). Then the order is placed: payment charges it, and the
		// order waits for the reservation it gave up on.
		x := earlyPayment(t, w, "dl-1")
		dead := w.letters(3)
		w.place(x.OrderID, x.CustomerID, x.Items[0].SKU, x.Items[0].Quantity, "GB")
		natstest.Eventually(t, wait, func() error { return status(w, x.OrderID, "paid") })
		tb.do(chromedp.Navigate(w.url+"/dead-letters"), chromedp.WaitVisible(chromedp.CSS("table.letters")))
		for _, l := range dead.Letters {
			if !strings.Contains(l.OriginalSubject, "StockReserved") && !strings.Contains(l.OriginalSubject, "ShipmentScheduled") {
				continue
			}
			row := fmt.Sprintf(`tr[data-seq="%d"] button.show`, l.Seq)
			tb.do(chromedp.WaitVisible(chromedp.CSS(row)), chromedp.Click(chromedp.CSS(row)), chromedp.WaitVisible(chromedp.CSS("#redrive")))
			contains(t, "the letter's body", tb.text("#letter-body"), `"type": "`, x.OrderID)
			tb.do(chromedp.Click(chromedp.CSS("#redrive")), chromedp.WaitVisible(chromedp.CSS("#confirm-ok")))
			contains(t, "the confirmation", tb.text("#confirm"), fmt.Sprintf("Redrive dead letter %d?", l.Seq), l.Stream)
			tb.do(chromedp.Click(chromedp.CSS("#confirm-ok")))
			tb.until("the redrive's result", fmt.Sprintf(`(document.getElementById('toast')||{}).textContent.startsWith('redriven %d:')`, l.Seq))
			tb.until("the letter gone", fmt.Sprintf(`!document.querySelector('tr[data-seq="%d"]')`, l.Seq))
		}
		// Handled once: the order completed, with one charge, one
		// reservation, one shipment, each of its events once.
		natstest.Eventually(t, wait, func() error { return status(w, x.OrderID, "completed") })
		natstest.Eventually(t, wait, w.s.Quiet)
		v, err := w.c.Get(t.Context(), x.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Steps != (client.Steps{Payment: "completed", Inventory: "reserved", Shipping: "scheduled"}) {
			t.Errorf("steps = %+v", v.Steps)
		}
		events, err := w.c.History(t.Context(), x.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range events {
			types = append(types, e.Type)
		}
		if got := strings.Join(types, " "); got != "OrderPlaced OrderPaid OrderReserved OrderCompleted" {
			t.Errorf("history = %s", got)
		}
		st, err := w.c.Stock(t.Context(), "gadget")
		if err != nil || st.Available != 8 || st.Reserved != 2 {
			t.Errorf("gadget stock = %+v, %v; want 8 available and 2 reserved (one reservation)", st, err)
		}
		if b, err := w.c.Balance(t.Context(), x.CustomerID); err != nil || b.BalanceCents != 10_000-1_000 {
			t.Errorf("balance = %+v, %v; want one charge of 1000", b, err)
		}
		if _, err := w.c.CheckInvariants(t.Context()); err != nil {
			t.Error(err)
		}
		if left := w.letters(1); !strings.Contains(left.Letters[0].OriginalSubject, "PaymentCompleted") {
			t.Errorf("letters left: %+v", left.Letters)
		}
	})

	t.Run("data is shown as text", func(t *testing.T) {
		tb := openTab(t, browser)
		evil := "<script>alert(1)</script>"
		addr := sagatest.Addr("GB")
		addr.Name, addr.Line1 = evil, `<img src=x onerror="alert(2)">`
		if _, err := w.c.Place(t.Context(), client.PlaceRequest{OrderID: "xss-1", CustomerID: "ada", ShippingAddress: addr,
			Items: []client.Item{{SKU: "widget", Quantity: 1, UnitPriceCents: 100}}}); err != nil {
			t.Fatal(err)
		}
		w.over("xss-1")
		tb.do(chromedp.Navigate(w.url+"/sagas/xss-1"), chromedp.WaitVisible(chromedp.CSS("#ship-to")))
		contains(t, "the address", tb.text("#ship-to"), evil, `<img src=x onerror="alert(2)">`)
		if n := eval[int](tb, `document.querySelectorAll('main script, main img').length`); n != 0 {
			t.Errorf("%d script or img elements made from data", n)
		}
		tb.do(chromedp.Navigate(w.url+"/sagas?customer=ada"), chromedp.WaitVisible(chromedp.CSS(`tr[data-order="xss-1"]`)))
		tb.mu.Lock()
		defer tb.mu.Unlock()
		if len(tb.dialogs) > 0 {
			t.Errorf("dialogs opened: %q", tb.dialogs)
		}
	})

	t.Run("an action without the token or from elsewhere is refused", func(t *testing.T) {
		tb := openTab(t, browser)
		w.deadLetter("csrf-1")
		var seq uint64
		natstest.Eventually(t, wait, func() error {
			var l struct {
				Letters []struct {
					Seq     uint64 `json:"seq"`
					OrderID string `json:"order_id"`
				} `json:"letters"`
			}
			w.api("/api/dead-letters", &l)
			for _, x := range l.Letters {
				if x.OrderID == "csrf-1" {
					seq = x.Seq
					return nil
				}
			}
			return fmt.Errorf("no dead letter of csrf-1 yet")
		})
		tb.do(chromedp.Navigate(w.url + "/dead-letters"))
		if code := eval[int](tb, fmt.Sprintf(`fetch('/api/dead-letters/%d/purge', {method: 'POST'}).then(r => r.status)`, seq)); code != http.StatusForbidden {
			t.Errorf("a POST without the token: %d, want 403", code)
		}
		// Another site's page: it cannot read the token, and its form
		// post comes from another origin.
		evil := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
			rw.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(rw, `<form id="f" method="post" action="%s/api/dead-letters/%d/purge"></form><script>document.getElementById('f').submit()</script>`, w.url, seq)
		}))
		defer evil.Close()
		tb.do(chromedp.Navigate(evil.URL), chromedp.WaitReady(chromedp.CSS("body")))
		tb.until("the refusal", `document.body.textContent.includes('another origin') || document.body.textContent.includes('forbidden')`)
		var d struct {
			Seq uint64 `json:"seq"`
		}
		w.api(fmt.Sprintf("/api/dead-letters/%d", seq), &d) // still there
		if d.Seq != seq {
			t.Errorf("the letter is gone: %+v", d)
		}
	})
	t.Logf("browser tests took %v", time.Since(begin).Round(time.Millisecond))
}

// earlyPayment publishes a PaymentCompleted for an order not placed yet,
// as a payment service would, and returns the order it is for.
func earlyPayment(t *testing.T, w *world, id string) client.PlaceRequest {
	t.Helper()
	w.fund(map[string]int64{"bea": 10_000}, map[string]int64{"gadget": 10})
	req := client.PlaceRequest{OrderID: id, CustomerID: "bea", ShippingAddress: sagatest.Addr("GB"),
		Items: []client.Item{{SKU: "gadget", Quantity: 2, UnitPriceCents: 500}}}
	w.s.PublishEvent(t, "payment", paymentevents.PaymentCompleted{OrderID: id, PaymentID: "pay-early", CustomerID: req.CustomerID,
		AmountCents: 1_000, Items: req.Items, ShippingAddress: req.ShippingAddress}, id)
	return req
}

// status returns nil once the order has the status.
func status(w *world, id, want string) error {
	v, err := w.c.Get(w.t.Context(), id)
	if err != nil {
		return err
	}
	if v.Status != want {
		return fmt.Errorf("%s is %s, want %s", id, v.Status, want)
	}
	return nil
}
