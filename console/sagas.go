package console

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/shared/endpoint"
)

var idPattern = regexp.MustCompile(endpoint.IDPattern)

// validID reports whether s is an identifier of the contract (an order,
// customer or SKU id; a service name).
func validID(s string) bool { return idPattern.MatchString(s) }

// The order statuses (contract, section 2).
var statuses = []string{"pending", "paid", "reserved", "completed", "cancelled"}

const (
	defaultListLimit = 50
	maxListLimit     = 200
	// maxSKUs bounds the SKUs whose stock one saga page reads.
	maxSKUs = 20
)

// SagaQuery is what the sagas page asks for.
type SagaQuery struct {
	Status   string `json:"status"`
	Customer string `json:"customer"`
	Stuck    bool   `json:"stuck"`
	OrderID  string `json:"q"`
	Limit    int    `json:"limit"`
}

// parseSagaQuery reads the sagas page's query; a bad field is an
// ErrBadRequest naming it.
func parseSagaQuery(get func(string) string) (SagaQuery, error) {
	q := SagaQuery{Status: strings.TrimSpace(get("status")), Customer: strings.TrimSpace(get("customer")),
		OrderID: strings.TrimSpace(get("q")), Limit: defaultListLimit}
	var errs []string
	if q.Status != "" && !slices.Contains(statuses, q.Status) {
		errs = append(errs, fmt.Sprintf("status must be one of %s", strings.Join(statuses, ", ")))
	}
	if q.Customer != "" && !validID(q.Customer) {
		errs = append(errs, "customer must match "+endpoint.IDPattern)
	}
	if q.OrderID != "" && !validID(q.OrderID) {
		errs = append(errs, "q (an order id) must match "+endpoint.IDPattern)
	}
	switch v := get("stuck"); v {
	case "", "0", "false":
	case "1", "true", "on":
		q.Stuck = true
	default:
		errs = append(errs, "stuck must be 1 or 0")
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			errs = append(errs, fmt.Sprintf("limit must be from 1 to %d", maxListLimit))
		}
		q.Limit = n
	}
	if len(errs) > 0 {
		return q, fmt.Errorf("%w: %s", ErrBadRequest, strings.Join(errs, "; "))
	}
	return q, nil
}

// SagaRow is one order of the sagas page.
type SagaRow struct {
	OrderID      string        `json:"order_id"`
	CustomerID   string        `json:"customer_id"`
	Status       string        `json:"status"`
	CancelReason string        `json:"cancel_reason"`
	TotalCents   int64         `json:"total_cents"`
	Currency     string        `json:"currency"`
	Items        int           `json:"items"`
	Steps        client.Steps  `json:"steps"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	Stuck        *StuckDetails `json:"stuck,omitempty"`
}

// StuckDetails is where a stuck saga waits.
type StuckDetails struct {
	WaitingOn  *string `json:"waiting_on"`
	AgeSeconds float64 `json:"age_seconds"`
	LastEvent  string  `json:"last_event"`
}

func row(v client.OrderView) SagaRow {
	return SagaRow{OrderID: v.OrderID, CustomerID: v.CustomerID, Status: v.Status, CancelReason: v.CancelReason,
		TotalCents: v.TotalCents, Currency: v.Currency, Items: len(v.Items), Steps: v.Steps, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
}

// SagaList is the sagas page's list.
type SagaList struct {
	Query             SagaQuery `json:"query"`
	Orders            []SagaRow `json:"orders"`
	StuckAfterSeconds float64   `json:"stuck_after_seconds"`
	// Note says something about the list (an order id not found).
	Note  string `json:"note,omitempty"`
	Error string `json:"error,omitempty"`
}

// listSagas answers q: one order by id, the stuck sagas (client.Stuck, as
// choreo stuck), or order.list; newest first.
func listSagas(ctx context.Context, cl *client.Client, q SagaQuery, stuckAfter time.Duration, now time.Time) SagaList {
	out := SagaList{Query: q, Orders: []SagaRow{}, StuckAfterSeconds: stuckAfter.Seconds()}
	switch {
	case q.OrderID != "":
		v, err := cl.Get(ctx, q.OrderID)
		switch {
		case errors.Is(err, client.ErrNotFound):
			out.Note = "no order " + q.OrderID
		case err != nil:
			out.Error = unavailable("order", err)
		default:
			out.Orders = append(out.Orders, row(v))
		}
	case q.Stuck:
		stuck, err := cl.Stuck(ctx, stuckAfter, now)
		if err != nil {
			out.Error = unavailable("order", err)
			break
		}
		slices.Reverse(stuck) // newest first
		for _, s := range stuck {
			if (q.Customer != "" && s.Order.CustomerID != q.Customer) || (q.Status != "" && s.Status != q.Status) {
				continue
			}
			if len(out.Orders) == q.Limit {
				out.Note = fmt.Sprintf("the newest %d of more", q.Limit)
				break
			}
			r := row(s.Order)
			r.Status = s.Status
			r.Stuck = &StuckDetails{WaitingOn: s.WaitingOn, AgeSeconds: s.AgeSeconds, LastEvent: s.LastEvent}
			out.Orders = append(out.Orders, r)
		}
	default:
		orders, err := cl.List(ctx, client.ListRequest{Status: q.Status, CustomerID: q.Customer, Limit: q.Limit})
		if err != nil {
			out.Error = unavailable("order", err)
			break
		}
		for _, v := range orders {
			out.Orders = append(out.Orders, row(v))
		}
	}
	return out
}

// unavailable says that service could not answer, and why, for a page.
func unavailable(service string, err error) string {
	switch {
	case errors.Is(err, client.ErrNoResponders):
		return service + " unavailable: no service answers (is it running?)"
	case errors.Is(err, client.ErrTimeout):
		return service + " unavailable: no reply in time"
	case client.Code(err) != "":
		return service + ": " + err.Error()
	}
	return service + " unavailable: " + err.Error()
}

// The saga's event kinds, from the roles of the contract's event types
// (section 4), to draw each kind its own way.
var eventKinds = map[string]string{
	"OrderPlaced": "start", "OrderPaid": "step", "OrderReserved": "step", "OrderCompleted": "complete",
	"OrderCancelled":   "cancel",
	"PaymentCompleted": "effect", "StockReserved": "effect", "ShipmentScheduled": "effect",
	"PaymentFailed": "failure", "StockReservationFailed": "failure", "ShipmentFailed": "failure",
	"PaymentRefunded": "compensation", "StockReleased": "compensation", "ShipmentCancelled": "compensation",
}

// SagaEvent is one event of the swimlanes.
type SagaEvent struct {
	client.TimelineEvent
	// Kind is start, step, effect, failure, cancel, compensation or
	// complete.
	Kind string `json:"kind"`
	// OffsetMS is when it occurred, in milliseconds after the first event.
	OffsetMS float64 `json:"offset_ms"`
}

// StockLine is one SKU of the order: what was ordered and its stock now.
type StockLine struct {
	SKU      string            `json:"sku"`
	Quantity int64             `json:"quantity"`
	Stock    *client.StockView `json:"stock,omitempty"`
	Error    string            `json:"error,omitempty"`
}

// Compensation is what a cancellation asks of one step.
type Compensation struct {
	Service string `json:"service"`
	// State is the step's state in the order view.
	State string `json:"state"`
	// Needed: the step had an effect, which must be undone.
	Needed bool   `json:"needed"`
	Done   bool   `json:"done"`
	Text   string `json:"text"`
}

// Where is where a saga stands, in words.
type Where struct {
	// Level is ok (over, nothing waits), wait (in flight), warn (stuck, or
	// a compensation outstanding) or error (what it waits on is down, or
	// nothing can be read).
	Level     string   `json:"level"`
	Headline  string   `json:"headline"`
	Details   []string `json:"details"`
	WaitingOn *string  `json:"waiting_on"`
	// CompensationsDone is whether every compensation is done: the saga is
	// cancelled and waits on nothing (unknown while it cannot be read).
	CompensationsDone *bool `json:"compensations_done"`
}

// SagaView is the one-saga page.
type SagaView struct {
	OrderID       string               `json:"order_id"`
	Order         *client.OrderView    `json:"order,omitempty"`
	OrderError    string               `json:"order_error,omitempty"`
	Timeline      *client.Timeline     `json:"timeline,omitempty"`
	TimelineError string               `json:"timeline_error,omitempty"`
	Payment       *client.PaymentView  `json:"payment,omitempty"`
	PaymentError  string               `json:"payment_error,omitempty"`
	Balance       *client.BalanceView  `json:"balance,omitempty"`
	BalanceError  string               `json:"balance_error,omitempty"`
	Shipment      *client.ShipmentView `json:"shipment,omitempty"`
	ShipmentError string               `json:"shipment_error,omitempty"`
	Stock         []StockLine          `json:"stock"`
	Lanes         []string             `json:"lanes"`
	Events        []SagaEvent          `json:"events"`
	Compensations []Compensation       `json:"compensations"`
	Where         Where                `json:"where"`
}

// readSaga reads everything the saga page shows, each part on its own.
// lanes are the services to draw a lane for, in order (more are added for
// services the timeline names); down says why a service cannot act, if it
// cannot.
func readSaga(ctx context.Context, cl *client.Client, id string, lanes []string, down func(string) string, stuckAfter time.Duration, now time.Time) SagaView {
	v := SagaView{OrderID: id, Stock: []StockLine{}, Events: []SagaEvent{}, Compensations: []Compensation{}}
	var wg sync.WaitGroup
	readPart(&wg, &v.Order, &v.OrderError, "order", "no order "+id, func() (client.OrderView, error) { return cl.Get(ctx, id) })
	readPart(&wg, &v.Timeline, &v.TimelineError, "order", "no saga of order "+id, func() (client.Timeline, error) { return cl.Timeline(ctx, id) })
	readPart(&wg, &v.Payment, &v.PaymentError, "payment", "no payment for this order (yet)", func() (client.PaymentView, error) { return cl.Payment(ctx, id) })
	readPart(&wg, &v.Shipment, &v.ShipmentError, "shipping", "no shipment for this order (yet)", func() (client.ShipmentView, error) { return cl.Shipment(ctx, id) })
	wg.Wait()
	if v.Order != nil {
		customer := v.Order.CustomerID
		readPart(&wg, &v.Balance, &v.BalanceError, "payment", "the customer has no wallet", func() (client.BalanceView, error) { return cl.Balance(ctx, customer) })
		qty := map[string]int64{}
		for _, it := range v.Order.Items {
			if _, ok := qty[it.SKU]; !ok && len(qty) < maxSKUs {
				v.Stock = append(v.Stock, StockLine{SKU: it.SKU})
			}
			qty[it.SKU] += it.Quantity
		}
		for i := range v.Stock {
			l := &v.Stock[i]
			l.Quantity = qty[l.SKU]
			readPart(&wg, &l.Stock, &l.Error, "inventory", "no stock of "+l.SKU, func() (client.StockView, error) { return cl.Stock(ctx, l.SKU) })
		}
		wg.Wait()
	}
	v.Lanes = slices.Clone(lanes)
	if v.Timeline != nil {
		var first time.Time
		for i, e := range v.Timeline.Events {
			if i == 0 {
				first = e.OccurredAt
			}
			kind := eventKinds[e.Type]
			if kind == "" {
				kind = "step"
			}
			v.Events = append(v.Events, SagaEvent{TimelineEvent: e, Kind: kind, OffsetMS: float64(e.OccurredAt.Sub(first)) / float64(time.Millisecond)})
			if !slices.Contains(v.Lanes, e.Service) {
				v.Lanes = append(v.Lanes, e.Service)
			}
		}
	}
	if v.Order != nil {
		v.Compensations = compensations(*v.Order)
	}
	v.Where = where(v.Order, v.Timeline, v.Compensations, down, stuckAfter, now)
	if v.Order == nil && v.Timeline == nil && v.OrderError == "no order "+id {
		v.Where = Where{Level: "error", Headline: "There is no order " + id + ": the order service has never heard of it.", Details: []string{}}
	}
	return v
}

// readPart reads one part of the saga page in wg: into *dst, or, if it
// cannot, why not into *why.
func readPart[T any](wg *sync.WaitGroup, dst **T, why *string, service, notFound string, read func() (T, error)) {
	wg.Go(func() {
		v, err := read()
		if err != nil {
			*why = partError(service, notFound, err)
			return
		}
		*dst = &v
	})
}

// partError says why a part of the saga page is empty: notFound when the
// service answered that there is none, why it could not answer otherwise.
func partError(service, notFound string, err error) string {
	if errors.Is(err, client.ErrNotFound) {
		return notFound
	}
	return unavailable(service, err)
}

// lanesOf are the services of endpoints, in order, a partitioned one
// (order-p0, order-p1: partition.Partition.Suffix) once.
func lanesOf(es []Endpoint) []string {
	var out []string
	for _, e := range es {
		name := e.Name
		if i := strings.LastIndex(name, "-p"); i > 0 {
			if _, err := strconv.Atoi(name[i+2:]); err == nil {
				name = name[:i]
			}
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// compensations is what a cancellation of o asks of each step, and what is
// done: a step that had its effect (charged, reserved, scheduled) must be
// undone (refunded, released, cancelled).
func compensations(o client.OrderView) []Compensation {
	if o.Status != "cancelled" {
		return []Compensation{}
	}
	step := func(service, state, effect, undone, verb string) Compensation {
		c := Compensation{Service: service, State: state}
		switch state {
		case undone:
			c.Needed, c.Done, c.Text = true, true, service+": "+undone+" — done"
		case effect:
			c.Needed, c.Text = true, service+": "+state+", waiting to be "+verb
		default:
			c.Done, c.Text = true, service+": "+state+" — nothing to undo"
		}
		return c
	}
	return []Compensation{
		step("payment", o.Steps.Payment, "completed", "refunded", "refunded"),
		step("inventory", o.Steps.Inventory, "reserved", "released", "released"),
		step("shipping", o.Steps.Shipping, "scheduled", "cancelled", "cancelled"),
	}
}

// cancelReasons say the contract's cancel reasons in words.
var cancelReasons = map[string]string{
	"payment_failed":     "the payment was declined",
	"insufficient_stock": "there was not enough stock",
	"shipping_failed":    "shipping does not serve the destination",
	"customer_request":   "the customer cancelled it",
	"timeout":            "it ran out of time",
}

// awaited says what a saga waits for from a service: while in flight, and
// once cancelled (a compensation).
var awaited = map[string][2]string{
	"order":     {"decide on what it heard", "record the compensations"},
	"payment":   {"charge the customer (or decline)", "refund the payment"},
	"inventory": {"reserve the stock", "release the stock"},
	"shipping":  {"schedule the shipment", "cancel the shipment"},
}

// where says where the saga stands, in words.
func where(o *client.OrderView, tl *client.Timeline, comps []Compensation, down func(string) string, stuckAfter time.Duration, now time.Time) Where {
	w := Where{Details: []string{}}
	if o == nil && tl == nil {
		w.Level, w.Headline = "error", "Where this saga stands cannot be read: the order service does not answer."
		return w
	}
	status, reason := "", ""
	var created time.Time
	if o != nil {
		status, reason, created = o.Status, o.CancelReason, o.CreatedAt
	}
	if tl != nil {
		status, w.WaitingOn = tl.Status, tl.WaitingOn
		if n := len(tl.Events); n > 0 {
			last := tl.Events[n-1]
			if created.IsZero() {
				created = tl.Events[0].OccurredAt
			}
			w.Details = append(w.Details, fmt.Sprintf("Last event: %s from %s, %s ago.", last.Type, last.Service, ago(now.Sub(last.OccurredAt))))
		}
	}
	waits := func(i int) string {
		if w.WaitingOn == nil {
			return ""
		}
		svc := *w.WaitingOn
		what := awaited[svc][i]
		if what == "" {
			what = "act"
		}
		s := "waiting on " + svc + " to " + what
		if why := down(svc); why != "" {
			w.Level = "error"
			w.Details = append(w.Details, why)
		}
		return s
	}
	switch status {
	case "completed":
		w.Level, w.Headline = "ok", "Completed: paid, stock reserved, shipment scheduled. Nothing waits."
		done := false
		w.CompensationsDone = &done
		if tl == nil {
			w.Details = append(w.Details, "The timeline cannot be read.")
		}
	case "cancelled":
		why := cancelReasons[reason]
		if why == "" {
			why = "of " + reason
		}
		if reason == "" {
			why = "of a reason the order view does not say"
		}
		done := tl != nil && tl.WaitingOn == nil
		if tl != nil {
			w.CompensationsDone = &done
		}
		switch {
		case tl == nil:
			w.Level, w.Headline = "warn", "Cancelled because "+why+". Whether every compensation is done cannot be read: the timeline is unavailable."
		case done:
			w.Level, w.Headline = "ok", "Cancelled because "+why+". Every compensation is done; nothing waits."
		default:
			w.Level = "warn"
			w.Headline = "Cancelled because " + why + "; " + waits(1) + "."
		}
		for _, c := range comps {
			w.Details = append(w.Details, c.Text+".")
		}
	default:
		age := now.Sub(created)
		w.Level = "wait"
		head := "In flight for " + ago(age)
		if age > stuckAfter {
			w.Level, head = "warn", "Stuck: in flight for "+ago(age)+" (more than "+stuckAfter.String()+")"
		}
		if s := waits(0); s != "" {
			head += ": " + s
		} else if tl == nil {
			head += "; what it waits on cannot be read: the timeline is unavailable"
		}
		w.Headline = head + "."
	}
	return w
}

// ago is a duration for people: 850ms, 3.2s, 4m10s, 2h5m.
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}
