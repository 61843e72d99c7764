package order

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// The saga's service levels, as the order service — the one that decides
// every order's fate — sees them: sagas started and ended (by status and
// reason), how long each took from order.place to its end, how long the
// compensations took after a cancellation, and the sagas in flight and
// stuck (in flight longer than Settings.StuckAfter). The counters and
// histograms move when the transaction that records the event commits; the
// gauges are read from the store at every scrape, so they are right after a
// restart. One info line per saga that ends says how it ended.

// DefaultStuckAfter is CHOREO_STUCK_AFTER's default.
const DefaultStuckAfter = 10 * time.Second

// sagaWatch reports what the timeline shows. It does nothing until the
// service host has called observe (never during -rebuild-projections).
type sagaWatch struct {
	settings Settings
	on       atomic.Pointer[sagaReport]
}

// sagaReport is where a sagaWatch reports: the log, and the metrics if they
// are on.
type sagaReport struct {
	log          zerolog.Logger
	started      prometheus.Counter
	ended        *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	compensation prometheus.Histogram
}

// sagaBuckets span a saga's life, in seconds: from a fast local saga to
// the default 30-second deadline and well past it.
var sagaBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

func (w *sagaWatch) observe(o service.Observation) {
	r := &sagaReport{log: o.Logger}
	if reg := o.Registerer; reg != nil {
		r.started = prometheus.NewCounter(prometheus.CounterOpts{Name: "choreo_sagas_started_total",
			Help: "Sagas opened by order.place (OrderPlaced)."})
		r.ended = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "choreo_sagas_ended_total",
			Help: "Sagas ended, by status (completed, cancelled) and cancel reason."}, []string{"status", "reason"})
		r.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "choreo_saga_duration_seconds",
			Help: "Time from OrderPlaced to OrderCompleted or OrderCancelled, by status.", Buckets: sagaBuckets}, []string{"status"})
		r.compensation = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "choreo_compensation_duration_seconds",
			Help: "Time from OrderCancelled to the last compensation recorded.", Buckets: sagaBuckets})
		reg.MustRegister(r.started, r.ended, r.duration, r.compensation, openSagas{store: o.Store, watch: w})
	}
	w.on.Store(r)
}

// saw reports e, just put on the timeline in tx.
func (w *sagaWatch) saw(tx *eventstore.Tx, e envelope.Envelope, ev envelope.Event) error {
	r := w.on.Load()
	if r == nil {
		return nil
	}
	switch ev := ev.(type) {
	case orderevents.OrderPlaced:
		if r.started != nil {
			tx.OnCommit(r.started.Inc)
		}
	case orderevents.OrderCompleted, orderevents.OrderCancelled:
		o, _, err := eventstore.Load(tx, orderAgg, e.CorrelationID)
		if err != nil {
			return err
		}
		status, reason := domain.StatusCompleted, ""
		if c, ok := ev.(orderevents.OrderCancelled); ok {
			status, reason = domain.StatusCancelled, c.Reason
		}
		took, traceID := e.OccurredAt.Sub(o.PlacedAt), tx.Trace().TraceID()
		tx.OnCommit(func() {
			if r.ended != nil {
				r.ended.WithLabelValues(status, reason).Inc()
				r.duration.WithLabelValues(status).Observe(took.Seconds())
			}
			r.log.Info().Str("order_id", e.CorrelationID).Str("correlation_id", e.CorrelationID).Str("trace_id", traceID).
				Str("status", status).Str("reason", reason).Dur("duration", took).Msg("saga ended")
		})
	default:
		if r.compensation != nil && compensation(e.Type) {
			return w.sawCompensation(tx, e, r)
		}
	}
	return nil
}

var typOrderCancelled = orderevents.OrderCancelled{}.EventType()

func compensation(typ string) bool {
	return typ == typPaymentRefunded || typ == typStockReleased || typ == typShipmentCancelled
}

// sawCompensation observes the compensation time once the last compensation
// of a cancelled saga is recorded.
func (w *sagaWatch) sawCompensation(tx *eventstore.Tx, e envelope.Envelope, r *sagaReport) error {
	v, ok, err := getView(tx, e.CorrelationID)
	if err != nil || !ok || v.Status != domain.StatusCancelled {
		return err
	}
	events, err := readTimeline(tx, e.CorrelationID)
	if err != nil || waitingOn(v.Status, types(events)) != "" {
		return err
	}
	for _, te := range events {
		if te.Type == typOrderCancelled {
			took := tx.Now().Sub(te.OccurredAt)
			tx.OnCommit(func() { r.compensation.Observe(max(took, 0).Seconds()) })
			break
		}
	}
	return nil
}

// openSagas is the collector of the sagas in flight and stuck, read from
// the store's open orders (the deadline index) at every scrape.
type openSagas struct {
	store *eventstore.Store
	watch *sagaWatch
}

var (
	inFlightDesc = prometheus.NewDesc("choreo_sagas_in_flight", "Sagas placed and not yet completed or cancelled.", nil, nil)
	stuckDesc    = prometheus.NewDesc("choreo_sagas_stuck", "Sagas in flight longer than CHOREO_STUCK_AFTER.", nil, nil)
)

func (c openSagas) Describe(ch chan<- *prometheus.Desc) { ch <- inFlightDesc; ch <- stuckDesc }

func (c openSagas) Collect(ch chan<- prometheus.Metric) {
	now := c.watch.settings.Now()
	var inFlight, stuck int
	err := c.store.View(context.Background(), func(tx *eventstore.Tx) error {
		return forOpenOrders(tx, func(id string) error {
			v, ok, err := getView(tx, id)
			if err != nil || !ok {
				return err
			}
			inFlight++
			if now.Sub(v.CreatedAt) > c.watch.settings.StuckAfter {
				stuck++
			}
			return nil
		})
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(inFlightDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(inFlight))
	ch <- prometheus.MustNewConstMetric(stuckDesc, prometheus.GaugeValue, float64(stuck))
}

// forOpenOrders calls fn with the id of every open order: those in the
// deadline index, which holds exactly the orders not yet completed or
// cancelled.
func forOpenOrders(tx *eventstore.Tx, fn func(orderID string) error) error {
	for k := range tx.ViewBucket(bucketDeadlines).Scan(eventstore.Range{}) {
		if _, id, ok := splitTimeKey(k); ok && id != "" {
			if err := fn(id); err != nil {
				return err
			}
		}
	}
	return nil
}
