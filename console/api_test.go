package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/console"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/nats-io/nats.go"
)

// deadLetter publishes an undecodable event for order id on payment's
// stream: inventory and order, its consumers, dead-letter it at once.
func (w *world) deadLetter(id string) {
	w.t.Helper()
	m := nats.NewMsg("payment.events.PaymentCompleted." + id)
	m.Header.Set("Nats-Msg-Id", "bad-"+id)
	m.Data = []byte("not json <b>" + id + "</b>")
	if _, err := w.s.JS.PublishMsg(w.t.Context(), m); err != nil {
		w.t.Fatal(err)
	}
}

// letters waits until the DLQ holds n letters and returns them.
func (w *world) letters(n int) console.LetterList {
	w.t.Helper()
	var l console.LetterList
	natstest.Eventually(w.t, wait, func() error {
		w.api("/api/dead-letters", &l)
		if len(l.Letters) != n || l.Total != uint64(n) {
			return fmt.Errorf("%d dead letters (total %d), want %d", len(l.Letters), l.Total, n)
		}
		return nil
	})
	return l
}

// Every answer carries the security headers; a request for another host is
// refused; an action needs the token and the console's own origin, and is
// a POST; a refused action changes nothing.
func TestActionsAreGuarded(t *testing.T) {
	t.Parallel()
	w := start(t, sagatest.Options{})
	w.deadLetter("x1")
	l := w.letters(2)
	seq := l.Letters[0].Seq

	req, _ := http.NewRequest(http.MethodGet, w.url+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("security headers: %v", resp.Header)
	}

	req, _ = http.NewRequest(http.MethodGet, w.url+"/api/overview", nil)
	req.Host = "evil.example:8080"
	if code, body := w.do(req); code != http.StatusMisdirectedRequest {
		t.Errorf("a request for another host: %d %s", code, body)
	}

	origin := w.url
	path := fmt.Sprintf("/api/dead-letters/%d/redrive", seq)
	for name, h := range map[string]map[string]string{
		"no token":             {"Origin": origin},
		"wrong token":          {"Origin": origin, console.TokenHeader: w.token + "x"},
		"another origin":       {"Origin": "http://evil.example", console.TokenHeader: w.token},
		"a cross-site request": {"Sec-Fetch-Site": "cross-site", console.TokenHeader: w.token},
	} {
		if code, body := w.post(path, h); code != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", name, code, body)
		}
	}
	for _, p := range []string{path, fmt.Sprintf("/api/dead-letters/%d/purge", seq)} {
		if code := w.getCode(p); code != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d, want 405", p, code)
		}
	}
	if got := w.letters(2); got.Letters[0].Seq != seq {
		t.Fatalf("a refused action changed the DLQ: %+v", got)
	}

	code, body := w.post(fmt.Sprintf("/api/dead-letters/%d/purge", seq), map[string]string{"Origin": origin, console.TokenHeader: w.token})
	if code != http.StatusOK || !strings.Contains(body, fmt.Sprintf("purged %d: dlq.", seq)) {
		t.Fatalf("purge with the token: %d %s", code, body)
	}
	w.letters(1)
	if code, body := w.post(fmt.Sprintf("/api/dead-letters/%d/purge", seq), map[string]string{"Origin": origin, console.TokenHeader: w.token}); code != http.StatusNotFound {
		t.Errorf("second purge: %d %s, want 404", code, body)
	}
}

// getCode is the status of GET path.
func (w *world) getCode(path string) int {
	w.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.url+path, nil)
	code, _ := w.do(req)
	return code
}

// A letter shows its headers and body, bounded; bad input is refused,
// naming the field.
func TestDeadLetterDetail(t *testing.T) {
	t.Parallel()
	w := start(t, sagatest.Options{})
	w.deadLetter("x2")
	l := w.letters(2)
	var d console.LetterDetail
	w.api(fmt.Sprintf("/api/dead-letters/%d", l.Letters[0].Seq), &d)
	if d.Body != "not json <b>x2</b>" || d.BodyCut || d.OrderID != "x2" || !strings.HasPrefix(d.RedriveMsgID, "redrive.") {
		t.Errorf("letter = %+v", d)
	}
	var names []string
	for _, h := range d.Headers {
		names = append(names, h.Name+"="+h.Value)
	}
	contains(t, "headers", strings.Join(names, "\n"), "Choreo-Dlq-Subject=payment.events.PaymentCompleted.x2", "Choreo-Dlq-Msg-Id=bad-x2", "Choreo-Dlq-Error=")
	for path, want := range map[string]string{
		"/api/dead-letters/0":              "seq must be",
		"/api/dead-letters/abc":            "seq must be",
		"/api/dead-letters?limit=100000":   "limit must be from 1 to 500",
		"/api/dead-letters?service=a.b":    "service must be",
		"/api/sagas?status=lost":           "status must be one of",
		"/api/sagas?customer=%3Cscript%3E": "customer must match",
		"/api/sagas?q=a%20b&limit=0":       "q (an order id) must match",
		"/api/sagas/%3Cscript%3E":          "order id must match",
		"/api/dead-letters/999999":         "no dead letter 999999",
	} {
		code := http.StatusBadRequest
		if strings.HasSuffix(path, "999999") {
			code = http.StatusNotFound
		}
		contains(t, path, w.get(path, code), want)
	}
}

// The sagas list: newest first, by status, by customer, one order by id,
// and the stuck ones with where each waits.
func TestSagaList(t *testing.T) {
	t.Parallel()
	w := start(t, sagatest.Options{})
	w.fund(map[string]int64{"ada": 100_000, "bob": 100}, map[string]int64{"widget": 100})
	w.place("s-1", "ada", "widget", 1, "GB")
	w.place("s-2", "bob", "widget", 1, "GB") // bob cannot pay
	w.over("s-1")
	w.over("s-2")
	w.s.StopService("shipping")
	w.place("s-3", "ada", "widget", 1, "GB")
	natstest.Eventually(t, wait, func() error { return status(w, "s-3", "reserved") })

	ids := func(path string) string {
		var l console.SagaList
		w.api(path, &l)
		if l.Error != "" {
			t.Fatalf("%s: %s", path, l.Error)
		}
		var out []string
		for _, o := range l.Orders {
			out = append(out, o.OrderID)
		}
		return strings.Join(out, " ") + l.Note
	}
	for path, want := range map[string]string{
		"/api/sagas":                  "s-3 s-2 s-1",
		"/api/sagas?status=cancelled": "s-2",
		"/api/sagas?customer=ada":     "s-3 s-1",
		"/api/sagas?q=s-2":            "s-2",
		"/api/sagas?q=nope":           "no order nope",
		"/api/sagas?limit=1":          "s-3",
	} {
		if got := ids(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	// s-3 waits on shipping; past StuckAfter (2s here) it is stuck.
	var l console.SagaList
	natstest.Eventually(t, wait, func() error {
		w.api("/api/sagas?stuck=1", &l)
		if len(l.Orders) != 1 {
			return fmt.Errorf("stuck sagas: %+v", l.Orders)
		}
		return nil
	})
	if o := l.Orders[0]; o.OrderID != "s-3" || o.Stuck == nil || o.Stuck.WaitingOn == nil || *o.Stuck.WaitingOn != "shipping" ||
		o.Stuck.LastEvent != "OrderReserved" || o.CustomerID != "ada" {
		t.Errorf("stuck = %+v (%+v)", o, o.Stuck)
	}
	if got := ids("/api/sagas?stuck=1&customer=bob"); got != "" {
		t.Errorf("bob's stuck sagas: %q", got)
	}
	var v console.SagaView
	w.api("/api/sagas/nope", &v)
	if v.Where.Headline != "There is no order nope: the order service has never heard of it." || v.OrderError != "no order nope" {
		t.Errorf("an unknown order: %+v", v)
	}
	v = console.SagaView{}
	w.api("/api/sagas/s-3", &v)
	if !strings.HasPrefix(v.Where.Headline, "Stuck: in flight for") || !strings.Contains(v.Where.Headline, "waiting on shipping to schedule the shipment") ||
		v.Where.Level != "error" || !strings.Contains(strings.Join(v.Where.Details, " "), "shipping does not answer") {
		t.Errorf("where = %+v", v.Where)
	}
}

// With a service down, the pages that need it say so, and the rest of
// each page works.
func TestAServiceDown(t *testing.T) {
	t.Parallel()
	w := start(t, sagatest.Options{})
	w.fund(map[string]int64{"ada": 100_000}, map[string]int64{"widget": 100})
	w.place("d-1", "ada", "widget", 1, "GB")
	w.over("d-1")
	w.s.StopService("payment")

	var v console.SagaView
	w.api("/api/sagas/d-1", &v)
	if v.Payment != nil || v.PaymentError != "payment unavailable: no service answers (is it running?)" || v.BalanceError != v.PaymentError {
		t.Errorf("payment part: %+v, %q, %q", v.Payment, v.PaymentError, v.BalanceError)
	}
	if v.Order == nil || v.Order.Status != "completed" || v.Shipment == nil || len(v.Stock) != 1 || v.Stock[0].Stock == nil ||
		len(v.Events) != 7 || v.Where.Level != "ok" {
		t.Errorf("the rest of the saga: %+v", v)
	}
	natstest.Eventually(t, wait, func() error {
		var o console.Overview
		w.api("/api/overview", &o)
		for _, a := range o.Alerts {
			if a.Level == "error" && strings.HasPrefix(a.Text, "payment does not answer on ") {
				return nil
			}
		}
		return fmt.Errorf("no alert about payment: %+v", o.Alerts)
	})
	var l console.SagaList
	w.api("/api/sagas", &l)
	if len(l.Orders) != 1 || l.Error != "" {
		t.Errorf("the list without payment: %+v", l)
	}
	w.s.StopService("order")
	w.api("/api/sagas", &l)
	if l.Error != "order unavailable: no service answers (is it running?)" {
		t.Errorf("the list without order: %+v", l)
	}
	v = console.SagaView{}
	w.api("/api/sagas/d-1", &v)
	if v.Order != nil || v.Where.Level != "error" || !strings.Contains(v.Where.Headline, "cannot be read") || v.Shipment == nil {
		t.Errorf("the saga without order: %+v", v)
	}
}
