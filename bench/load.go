package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/nats-io/nats.go"
)

// ServedCountries is CHOREO_SHIPPING_COUNTRIES for the run (the contract's
// default). UnservedCountry is one that is not in it.
var ServedCountries = []string{"US", "CA", "GB", "DE", "FR", "NL", "JP", "AU"}

// UnservedCountry makes shipping fail after payment and reservation.
const UnservedCountry = "BR"

// Kind is what a generated order is meant to end as.
type Kind int

// The mix: nine in ten complete; the tenth is compensated, alternately
// because the customer has no money (payment fails, nothing to undo) and
// because the country is not served (shipping fails after payment and
// reservation, both undone).
const (
	KindComplete Kind = iota
	KindPaymentFailed
	KindShippingFailed
)

func (k Kind) wantStatus() string {
	if k == KindComplete {
		return "completed"
	}
	return "cancelled"
}

// Workload makes the orders of a run and the setup they need.
type Workload struct {
	// Prefix starts every order id of the run, so runs never collide.
	Prefix string
	// Customers is how many funded customers orders spread over; SKUs how
	// many stocked SKUs.
	Customers, SKUs int
	seq             atomic.Int64
}

// Deposit is what every funded customer gets: the contract's maximum.
const Deposit = 1_000_000_000

// MaxRestock is inventory.restock's largest quantity.
const MaxRestock = 1_000_000

func (w *Workload) customer(i int) string { return fmt.Sprintf("bench-cust-%04d", i) }
func (w *Workload) sku(i int) string      { return fmt.Sprintf("bench-sku-%04d", i) }

// Next makes the next order: its id, the order.place body and its kind.
// Orders have 1–3 lines of distinct SKUs, 1–3 units each, 1–20 dollars a unit.
func (w *Workload) Next(phase string) (string, []byte, Kind) {
	i := w.seq.Add(1) - 1
	r := rand.New(rand.NewPCG(uint64(i), 0x9E3779B97F4A7C15))
	kind := KindComplete
	if i%10 == 9 {
		kind = KindPaymentFailed
		if (i/10)%2 == 1 {
			kind = KindShippingFailed
		}
	}
	req := client.PlaceRequest{
		OrderID:    fmt.Sprintf("%s-%s-%d", w.Prefix, phase, i),
		CustomerID: w.customer(r.IntN(w.Customers)),
		Currency:   "USD",
		ShippingAddress: client.Address{Name: "Ada Lovelace", Line1: "1 Analytical Way", City: "London",
			PostalCode: "N1 9GU", Country: ServedCountries[r.IntN(len(ServedCountries))]},
	}
	switch kind {
	case KindPaymentFailed:
		req.CustomerID = fmt.Sprintf("bench-broke-%02d", r.IntN(64)) // never funded
	case KindShippingFailed:
		req.ShippingAddress.Country = UnservedCountry
	}
	lines := 1 + r.IntN(3)
	for _, s := range r.Perm(w.SKUs)[:lines] {
		req.Items = append(req.Items, client.Item{SKU: w.sku(s), Quantity: 1 + r.Int64N(3), UnitPriceCents: 100 * (1 + r.Int64N(20))})
	}
	body, _ := json.Marshal(req)
	return req.OrderID, body, kind
}

// Setup funds every customer and stocks every SKU with at least perSKU units
// (in restocks of at most MaxRestock), with a few requests in parallel. It
// returns how many commands it sent.
func (w *Workload) Setup(ctx context.Context, nc *nats.Conn, perSKU int64) (int, error) {
	cl := client.New(nc, client.WithTimeout(30*time.Second))
	var cmds []func() error
	for i := range w.Customers {
		cmds = append(cmds, func() error {
			_, err := cl.Deposit(ctx, w.customer(i), Deposit)
			return err
		})
	}
	for i := range w.SKUs {
		for left := max(perSKU, 1); left > 0; left -= MaxRestock {
			cmds = append(cmds, func() error {
				_, err := cl.Restock(ctx, w.sku(i), min(left, MaxRestock))
				return err
			})
		}
	}
	work := make(chan func() error)
	errs := make(chan error, len(cmds))
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cmd := range work {
				errs <- cmd()
			}
		}()
	}
	for _, cmd := range cmds {
		work <- cmd
	}
	close(work)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		if err != nil {
			all = append(all, err)
		}
	}
	if len(all) > 0 {
		return len(cmds), fmt.Errorf("setup: %d of %d commands failed, first: %w", len(all), len(cmds), all[0])
	}
	return len(cmds), nil
}

// outcome is a saga's terminal event as the tracker saw it.
type outcome struct {
	status string // completed or cancelled
	reason string // the cancel reason
	at     time.Time
}

// Tracker matches terminal order events to the sagas waiting for them, by
// order id (the subject's last token). It listens with core NATS
// subscriptions: it sees each event as the order service's publish reaches
// the server, and never polls.
type Tracker struct {
	mu      sync.Mutex
	waiting map[string]func(outcome)
	subs    []*nats.Subscription
	stray   atomic.Int64 // terminal events for no waiting saga (duplicates, warm-up leftovers)
}

// NewTracker subscribes on nc to OrderCompleted and OrderCancelled.
func NewTracker(nc *nats.Conn) (*Tracker, error) {
	return newTracker(nc, "order.events.OrderCompleted.*", "order.events.OrderCancelled.*")
}

// newTracker subscribes on nc to subjects whose last token is the id a
// waiter waits for; a message on a subject other than an OrderCancelled one
// is a completion.
func newTracker(nc *nats.Conn, subjects ...string) (*Tracker, error) {
	t := &Tracker{waiting: map[string]func(outcome){}}
	for _, subj := range subjects {
		sub, err := nc.Subscribe(subj, t.handle)
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("subscribe %s: %w", subj, err)
		}
		_ = sub.SetPendingLimits(-1, -1)
		t.subs = append(t.subs, sub)
	}
	return t, nc.Flush()
}

// Close unsubscribes.
func (t *Tracker) Close() {
	for _, s := range t.subs {
		_ = s.Unsubscribe()
	}
}

// Wait registers fn to be called once with the terminal event of order id.
func (t *Tracker) wait(id string, fn func(outcome)) {
	t.mu.Lock()
	t.waiting[id] = fn
	t.mu.Unlock()
}

// forget unregisters id and reports whether it was still waiting.
func (t *Tracker) forget(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.waiting[id]
	delete(t.waiting, id)
	return ok
}

func (t *Tracker) handle(msg *nats.Msg) {
	at := time.Now()
	i := strings.LastIndexByte(msg.Subject, '.')
	id := msg.Subject[i+1:]
	t.mu.Lock()
	fn, ok := t.waiting[id]
	delete(t.waiting, id)
	t.mu.Unlock()
	if !ok {
		t.stray.Add(1)
		return
	}
	o := outcome{status: "completed", at: at}
	if strings.HasPrefix(msg.Subject, "order.events.OrderCancelled.") {
		o.status = "cancelled"
		var ev struct {
			Data struct {
				Reason string `json:"reason"`
			} `json:"data"`
		}
		if json.Unmarshal(msg.Data, &ev) == nil {
			o.reason = ev.Data.Reason
		}
	}
	fn(o)
}

// PhaseResult is one measured phase: the closed loop or one open-loop rate.
type PhaseResult struct {
	Name string `json:"name"`
	// OfferedPerSec is the open loop's fixed send rate (0 for the closed loop).
	OfferedPerSec float64 `json:"offered_per_sec,omitempty"`
	Label         string  `json:"label,omitempty"`
	Workers       int     `json:"workers,omitempty"`
	WindowSec     float64 `json:"window_s"`
	// Placed is how many order.place requests were sent.
	Placed int `json:"placed"`
	// Terminal counts the sagas that ended, InWindow those that ended within
	// the measured window.
	Terminal  int            `json:"terminal"`
	InWindow  int            `json:"terminal_in_window"`
	Completed int            `json:"completed"`
	Cancelled int            `json:"cancelled"`
	Reasons   map[string]int `json:"cancel_reasons,omitempty"`
	// Unexpected counts sagas that did not end as their kind meant (a
	// funded, served order cancelled, say): timeouts under load show here.
	Unexpected int `json:"unexpected"`
	// PlaceErrors are error replies or failed requests for order.place;
	// Unfinished sagas had no terminal event in time.
	PlaceErrors int `json:"place_errors"`
	Unfinished  int `json:"unfinished"`
	// AchievedPerSec is terminal sagas per second within the window;
	// CompletedPerSec the completed ones among them.
	AchievedPerSec  float64 `json:"achieved_per_sec"`
	CompletedPerSec float64 `json:"completed_per_sec"`
	// DrainSec is how long after the window the last saga ended.
	DrainSec float64 `json:"drain_s"`
	// MaxSendLagMs is how late the open loop's sender got behind its
	// schedule (latency is measured from the schedule regardless).
	MaxSendLagMs float64 `json:"max_send_lag_ms,omitempty"`
	Latency      Latency `json:"latency"`
}

// collector records the outcomes of one phase.
type collector struct {
	windowEnd time.Time
	placed    atomic.Int64
	terminal  atomic.Int64
	failed    atomic.Int64 // place errors
	lost      atomic.Int64 // unfinished

	mu        sync.Mutex
	lat       []time.Duration
	inWindow  int
	winDone   int
	completed int
	cancelled int
	unexpect  int
	reasons   map[string]int
	last      time.Time
	// spans, if not nil, keeps when each completed saga was sent and ended,
	// by id: the stage breakdown starts and ends with them.
	spans map[string]span
}

// span is when a saga was sent (scheduled) and when its end was heard.
type span struct{ start, end time.Time }

func newCollector() *collector { return &collector{reasons: map[string]int{}} }

func (c *collector) record(id string, k Kind, start time.Time, o outcome) {
	c.mu.Lock()
	c.lat = append(c.lat, o.at.Sub(start))
	if c.spans != nil && o.status == "completed" {
		c.spans[id] = span{start, o.at}
	}
	if o.status == "completed" {
		c.completed++
	} else {
		c.cancelled++
		c.reasons[o.reason]++
	}
	if o.status != k.wantStatus() {
		c.unexpect++
	}
	if !o.at.After(c.windowEnd) {
		c.inWindow++
		if o.status == "completed" {
			c.winDone++
		}
	}
	if o.at.After(c.last) {
		c.last = o.at
	}
	c.mu.Unlock()
	c.terminal.Add(1)
}

func (c *collector) result(name string, window time.Duration) PhaseResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := PhaseResult{
		Name: name, WindowSec: window.Seconds(),
		Placed: int(c.placed.Load()), Terminal: int(c.terminal.Load()), InWindow: c.inWindow,
		Completed: c.completed, Cancelled: c.cancelled, Unexpected: c.unexpect,
		PlaceErrors: int(c.failed.Load()), Unfinished: int(c.lost.Load()),
		AchievedPerSec:  round(float64(c.inWindow)/window.Seconds(), 1),
		CompletedPerSec: round(float64(c.winDone)/window.Seconds(), 1),
		Latency:         Summarize(c.lat),
	}
	if len(c.reasons) > 0 {
		r.Reasons = c.reasons
	}
	if c.last.After(c.windowEnd) {
		r.DrainSec = round(c.last.Sub(c.windowEnd).Seconds(), 3)
	}
	return r
}

// Loader drives sagas through a running stack.
type Loader struct {
	NC       *nats.Conn // requests
	Tracker  *Tracker   // on its own connection
	Workload *Workload
	// TerminalWait bounds how long a saga may take to end after it was
	// placed (the saga timeout plus a margin).
	TerminalWait time.Duration
	// Progress, if set, shows each phase on one updating line.
	Progress *Progress
}

// One places a single saga and waits for its end: the readiness check.
func (l *Loader) One(ctx context.Context, phase string) (string, error) {
	id, body, _ := l.Workload.Next(phase)
	ch := make(chan outcome, 1)
	l.Tracker.wait(id, func(o outcome) { ch <- o })
	defer l.Tracker.forget(id)
	if err := client.New(l.NC, client.WithTimeout(30*time.Second)).Call(ctx, "order.place", json.RawMessage(body), nil); err != nil {
		return "", err
	}
	select {
	case o := <-ch:
		return o.status, nil
	case <-time.After(l.TerminalWait):
		return "", fmt.Errorf("order %s: no terminal event within %v", id, l.TerminalWait)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// ClosedLoop runs workers that each place an order, wait for its terminal
// event and place the next, for d. onEnd, if set, is called as the window
// closes (to snapshot counters), or when ClosedLoop returns early. Sagas
// that end after the window are waited for but not counted in the rates.
func (l *Loader) ClosedLoop(ctx context.Context, name string, workers int, d time.Duration, onEnd func()) PhaseResult {
	c := newCollector()
	start := time.Now()
	deadline := start.Add(d)
	c.windowEnd = deadline
	if onEnd != nil {
		// Called exactly once: as the window closes, or on an early return.
		t := time.AfterFunc(d, onEnd)
		defer func() {
			if t.Stop() {
				onEnd()
			}
		}()
	}
	stop := l.Progress.Start(name, d, func(elapsed time.Duration) string {
		n := c.terminal.Load()
		return fmt.Sprintf("sagas %d  %.0f/s  in flight %d  errors %d",
			n, float64(n)/max(elapsed.Seconds(), 1e-3), c.placed.Load()-n-c.failed.Load()-c.lost.Load(), c.failed.Load()+c.lost.Load())
	})
	cl := client.New(l.NC)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch := make(chan outcome, 1)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				id, body, kind := l.Workload.Next("c")
				t0 := time.Now()
				l.Tracker.wait(id, func(o outcome) { ch <- o })
				c.placed.Add(1)
				rctx, cancel := context.WithTimeout(ctx, l.TerminalWait)
				err := cl.Call(rctx, "order.place", json.RawMessage(body), nil)
				cancel()
				var refused *client.Error
				if err != nil && (errors.As(err, &refused) || errors.Is(err, client.ErrNoResponders)) {
					// Refused: no saga. (A timeout may still have placed one.)
					if l.Tracker.forget(id) {
						c.failed.Add(1)
						continue
					}
				}
				// Otherwise (a timeout, say) the order may well exist: its
				// terminal event decides.
				timer := time.NewTimer(l.TerminalWait - time.Since(t0))
				select {
				case o := <-ch:
					c.record(id, kind, t0, o)
				case <-timer.C:
					if l.Tracker.forget(id) {
						c.lost.Add(1)
					} else {
						c.record(id, kind, t0, <-ch)
					}
				case <-ctx.Done():
					l.Tracker.forget(id)
				}
				timer.Stop()
			}
		}()
	}
	wg.Wait()
	stop()
	r := c.result(name, d)
	r.Workers = workers
	return r
}

// OpenLoop sends orders at a fixed rate for d, on schedule whatever the
// replies, and measures each saga from its scheduled send time (so a sender
// that falls behind cannot hide latency), then waits for the stragglers.
// The order ids are "<prefix>-<phase>-<n>".
func (l *Loader) OpenLoop(ctx context.Context, name, phase string, rate float64, d time.Duration) (PhaseResult, error) {
	return l.openLoop(ctx, name, phase, rate, d, nil)
}

// openLoop is OpenLoop, keeping in spans, if not nil, when each completed
// saga was sent and ended.
func (l *Loader) openLoop(ctx context.Context, name, phase string, rate float64, d time.Duration, spans map[string]span) (PhaseResult, error) {
	c := newCollector()
	c.spans = spans
	inbox := l.NC.NewInbox() // the connection's prefix: an identity reads only its own inbox
	sub, err := l.NC.Subscribe(inbox+".*", func(msg *nats.Msg) {
		if client.ReplyError(msg) == nil {
			return
		}
		if id := msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:]; l.Tracker.forget(id) {
			c.failed.Add(1)
		}
	})
	if err != nil {
		return PhaseResult{}, fmt.Errorf("open loop: %w", err)
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(-1, -1)
	var buf bytes.Buffer
	return openLoop(ctx, c, openLoopSpec{name: name, rate: rate, d: d, tracker: l.Tracker, wait: l.TerminalWait, progress: l.Progress,
		next: func() (string, []byte, Kind) { return l.Workload.Next(phase) },
		send: func(id string, body []byte) error {
			buf.Reset()
			buf.WriteString(inbox)
			buf.WriteByte('.')
			buf.WriteString(id)
			return l.NC.PublishMsg(&nats.Msg{Subject: "order.place", Reply: buf.String(), Data: body})
		}})
}

// openLoopSpec is what an open loop sends, how, and where it hears the ends.
type openLoopSpec struct {
	name     string
	rate     float64
	d        time.Duration
	tracker  *Tracker
	wait     time.Duration // how long the stragglers are waited for
	progress *Progress
	next     func() (id string, body []byte, kind Kind)
	send     func(id string, body []byte) error
}

// openLoop sends rate×d items on schedule, each measured from its
// scheduled time to the end its tracker hears, into c.
func openLoop(ctx context.Context, c *collector, o openLoopSpec) (PhaseResult, error) {
	n := int(o.rate*o.d.Seconds() + 0.5)
	interval := time.Duration(float64(time.Second) / o.rate)
	start := time.Now().Add(20 * time.Millisecond)
	c.windowEnd = start.Add(o.d)
	stop := o.progress.Start(o.name, o.d, func(elapsed time.Duration) string {
		done := c.terminal.Load()
		return fmt.Sprintf("sent %d/%d  ended %d  in flight %d  errors %d", c.placed.Load(), n, done,
			c.placed.Load()-done-c.failed.Load()-c.lost.Load(), c.failed.Load()+c.lost.Load())
	})
	defer stop()
	ids := make([]string, 0, n)
	var maxLag time.Duration
	for i := 0; i < n && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		}
		maxLag = max(maxLag, time.Since(at))
		id, body, kind := o.next()
		ids = append(ids, id)
		o.tracker.wait(id, func(out outcome) { c.record(id, kind, at, out) })
		if err := o.send(id, body); err != nil {
			o.tracker.forget(id)
			c.failed.Add(1)
		}
		c.placed.Add(1)
	}
	// Wait for the stragglers (this watches our own counters; the system is
	// never polled).
	limit := time.Now().Add(o.wait)
	for c.terminal.Load()+c.failed.Load() < c.placed.Load() && time.Now().Before(limit) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range ids {
		if o.tracker.forget(id) {
			c.lost.Add(1)
		}
	}
	stop()
	r := c.result(o.name, o.d)
	r.OfferedPerSec = o.rate
	r.MaxSendLagMs = ms(maxLag)
	return r, ctx.Err()
}
