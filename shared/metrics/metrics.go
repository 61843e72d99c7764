// Package metrics is a service's Prometheus metrics: the kernel's (requests,
// events handled, consumers, outbox, store commits, dead letters, readiness)
// in one registry per service, served on /metrics with the Go and process
// collectors. Every series carries the label service="<name>".
//
// Every method is safe on a nil *Service, which records nothing: a service
// whose HTTP endpoint is off pays nothing for its metrics.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/choreo-dev/choreo/shared/health"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Outcomes of an event delivered to a consumer (choreo_events_handled_total).
const (
	// Applied: its effects were committed.
	Applied = "applied"
	// Duplicate: the inbox already held it; it was only acknowledged.
	Duplicate = "duplicate"
	// Retried: handed back for a later delivery.
	Retried = "retried"
	// DeadLettered: copied to the DLQ and terminated.
	DeadLettered = "dead_lettered"
)

// Service is one service's metrics.
type Service struct {
	reg  *prometheus.Registry
	wrap prometheus.Registerer

	requests    *prometheus.CounterVec
	requestTime *prometheus.HistogramVec
	handled     *prometheus.CounterVec
	handleTime  *prometheus.HistogramVec
	lag         *prometheus.HistogramVec
	pending     *prometheus.GaugeVec
	ackPending  *prometheus.GaugeVec
	setAside    *prometheus.GaugeVec
	published   *prometheus.CounterVec
	commitTime  prometheus.Observer
	commitBatch prometheus.Observer
	deadLetters prometheus.Gauge
}

// Buckets of the latency histograms, in seconds: from a cached read (100µs)
// to a stalled saga (a minute).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// New returns the metrics of the service named service, registered with the
// Go and process collectors.
func New(service string) *Service {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	wrap := prometheus.WrapRegistererWith(prometheus.Labels{"service": service}, reg)
	f := factory{wrap}
	return &Service{
		reg: reg, wrap: wrap,
		requests: f.counter("choreo_requests_total",
			"Requests answered, by endpoint (subject) and reply code (200, or the error's HTTP-like status).", "endpoint", "code"),
		requestTime: f.histogram("choreo_request_duration_seconds",
			"Time from a request's arrival to its reply, by endpoint.", latencyBuckets, "endpoint"),
		handled: f.counter("choreo_events_handled_total",
			"Events delivered to a consumer, by consumer, event type and outcome (applied, duplicate, retried, dead_lettered).",
			"consumer", "event_type", "outcome"),
		handleTime: f.histogram("choreo_event_handle_duration_seconds",
			"Time a consumer took over one delivered event, commit included.", latencyBuckets, "consumer", "event_type"),
		lag: f.histogram("choreo_event_delivery_lag_seconds",
			"Time from an event's occurred_at to its effects committed by a consumer.", latencyBuckets, "consumer"),
		pending: f.gauge("choreo_consumer_pending",
			"Messages of the stream not yet delivered to the durable consumer (refreshed every few seconds).", "stream", "consumer"),
		ackPending: f.gauge("choreo_consumer_ack_pending",
			"Messages delivered to the durable consumer and not yet acknowledged (refreshed every few seconds).", "stream", "consumer"),
		setAside: f.gauge("choreo_consumer_set_aside",
			"Messages of hot orders the consumer set aside in its store, acknowledged and waiting for their order's turn.",
			"stream", "consumer"),
		published: f.counter("choreo_events_published_total",
			"Outbox entries JetStream acknowledged, by stream.", "stream"),
		commitTime: f.histogram("choreo_store_commit_duration_seconds",
			"Time of one group-committed bbolt write transaction, fsync included.", latencyBuckets).WithLabelValues(),
		commitBatch: f.histogram("choreo_store_commit_batch_size",
			"Writes that shared one bbolt transaction (group commit).", prometheus.ExponentialBuckets(1, 2, 11)).WithLabelValues(),
		deadLetters: f.gauge("choreo_dead_letters",
			"Messages this service dead-lettered that wait in the DLQ (dlq.<service>.>), refreshed every few seconds.").WithLabelValues(),
	}
}

type factory struct{ r prometheus.Registerer }

func (f factory) counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.r.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	f.r.MustRegister(g)
	return g
}

func (f factory) histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.r.MustRegister(h)
	return h
}

// Registerer registers a service's own metrics beside the kernel's, with the
// service label; nil on a nil Service.
func (m *Service) Registerer() prometheus.Registerer {
	if m == nil {
		return nil
	}
	return m.wrap
}

// Handler serves the registry in the Prometheus text format.
func (m *Service) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request records one answered request: its endpoint's subject, its status
// (200 for a success) and the time from its arrival to its reply.
func (m *Service) Request(endpoint string, status int, took time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.requestTime.WithLabelValues(endpoint).Observe(took.Seconds())
}

// EventHandled records one delivery to consumer (the consuming service) of
// an event of eventType, its outcome and the time it took.
func (m *Service) EventHandled(consumer, eventType, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.handled.WithLabelValues(consumer, eventType, outcome).Inc()
	m.handleTime.WithLabelValues(consumer, eventType).Observe(took.Seconds())
}

// DeliveryLag records how long after it occurred an event's effects were
// committed by consumer.
func (m *Service) DeliveryLag(consumer string, lag time.Duration) {
	if m == nil {
		return
	}
	m.lag.WithLabelValues(consumer).Observe(max(lag, 0).Seconds())
}

// ConsumerInfo records a durable consumer's backlog as the server reports it.
func (m *Service) ConsumerInfo(stream, consumer string, pending, ackPending uint64) {
	if m == nil {
		return
	}
	m.pending.WithLabelValues(stream, consumer).Set(float64(pending))
	m.ackPending.WithLabelValues(stream, consumer).Set(float64(ackPending))
}

// ConsumerSetAside records how many messages a consumer holds set aside
// for hot orders.
func (m *Service) ConsumerSetAside(stream, consumer string, n int) {
	if m == nil {
		return
	}
	m.setAside.WithLabelValues(stream, consumer).Set(float64(n))
}

// Published counts n outbox entries acknowledged by stream.
func (m *Service) Published(stream string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.published.WithLabelValues(stream).Add(float64(n))
}

// StoreCommit records one write transaction: how long it took and how many
// writes shared it.
func (m *Service) StoreCommit(took time.Duration, batch int) {
	if m == nil {
		return
	}
	m.commitTime.Observe(took.Seconds())
	m.commitBatch.Observe(float64(batch))
}

// DeadLetters records how many of the service's dead letters wait in the DLQ.
func (m *Service) DeadLetters(n uint64) {
	if m == nil {
		return
	}
	m.deadLetters.Set(float64(n))
}

// GaugeFunc registers a gauge computed at every scrape (from the store, say:
// right after a restart too). fn must be quick and safe for concurrent use.
func (m *Service) GaugeFunc(name, help string, fn func() float64) {
	if m == nil {
		return
	}
	m.wrap.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// Checks exposes the readiness checks as choreo_ready{check}: 1 passing, 0
// failing, read at every scrape.
func (m *Service) Checks(c *health.Checks) {
	if m == nil || c == nil {
		return
	}
	m.wrap.MustRegister(readyCollector{c})
}

var readyDesc = prometheus.NewDesc("choreo_ready",
	"Readiness checks (what /readyz reports): 1 passing, 0 failing.", []string{"check"}, nil)

type readyCollector struct{ c *health.Checks }

func (r readyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- readyDesc }

func (r readyCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range r.c.Report().Checks {
		v := 0.0
		if s.OK {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, v, s.Name)
	}
}
