package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/choreo-dev/choreo/shared/deadletter"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/health"
	"github.com/choreo-dev/choreo/shared/metrics"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Seeing a service from outside: its HTTP endpoint (CHOREO_HTTP_ADDR) with
// /metrics, /healthz and /readyz, and what keeps the metrics current.

// HTTPOff is the CHOREO_HTTP_ADDR value that turns the HTTP endpoint off.
const HTTPOff = "off"

// checkNATS is the readiness check of the NATS connection.
const checkNATS = "nats"

// Observation is what a service's Spec.Observe gets once its store is open.
type Observation struct {
	Store *eventstore.Store
	// Registerer registers the service's own metrics beside the kernel's
	// (with its service label); nil when its metrics are off (no HTTP
	// endpoint), and then nothing should be computed for them.
	Registerer prometheus.Registerer
	// Logger is the service's logger.
	Logger zerolog.Logger
}

// serveHTTP listens on addr and serves /metrics (m), /healthz (200 while the
// process serves) and /readyz (200 while every check passes, 503 otherwise;
// the body is the checks' report as JSON). It returns the bound address and
// a function that stops the server.
func serveHTTP(addr string, m *metrics.Service, checks *health.Checks, log zerolog.Logger) (bound string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("http endpoint (CHOREO_HTTP_ADDR %s): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		rep := checks.Report()
		w.Header().Set("Content-Type", "application/json")
		if !rep.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(rep)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: nil}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Str("addr", ln.Addr().String()).Msg("http endpoint stopped")
		}
	}()
	log.Info().Str("addr", ln.Addr().String()).Msg("http endpoint: /metrics /healthz /readyz")
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// watchNATS keeps the "nats" check: failing from the start until connected,
// and whenever the connection is lost or closed. connected is the callback
// Connect calls on every (re)connection; the returned one also passes the
// check.
func watchNATS(checks *health.Checks, connected func(*nats.Conn)) func(*nats.Conn) {
	checks.Expect(checkNATS, "not connected yet")
	return func(nc *nats.Conn) {
		checks.Pass(checkNATS)
		connected(nc)
	}
}

// failNATSOnLoss chains the "nats" check's failure onto nc's disconnect
// handler, after whatever it already does (log). A connection closed on
// purpose (the service stopping) fails nothing.
func failNATSOnLoss(nc *nats.Conn, checks *health.Checks) {
	prev := nc.DisconnectErrHandler()
	nc.SetDisconnectErrHandler(func(c *nats.Conn, err error) {
		if !c.IsClosed() {
			checks.Fail(checkNATS, "disconnected", err)
		}
		if prev != nil {
			prev(c, err)
		}
	})
	if nc.IsConnected() {
		checks.Pass(checkNATS)
	}
}

// registerStoreGauges exposes the outbox's length and age, read from the
// store at every scrape (right after a restart too).
func registerStoreGauges(m *metrics.Service, st *eventstore.Store) {
	m.GaugeFunc("choreo_outbox_entries", "Events committed and not yet acknowledged by JetStream.", func() float64 {
		n, _ := st.OutboxLen(context.Background())
		return float64(n)
	})
	m.GaugeFunc("choreo_outbox_oldest_age_seconds", "Age of the oldest event waiting in the outbox; 0 when it is empty.", func() float64 {
		at, ok, err := st.OutboxOldest()
		if err != nil || !ok {
			return 0
		}
		return max(time.Since(at).Seconds(), 0)
	})
}

// refreshDeadLetters counts the service's dead letters waiting in the DLQ
// (dlq.<service>.>) every period until ctx ends.
func refreshDeadLetters(ctx context.Context, js jetstream.JetStream, service string, m *metrics.Service, period time.Duration) error {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if n, err := countDeadLetters(ctx, js, service); err == nil {
			m.DeadLetters(n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func countDeadLetters(ctx context.Context, js jetstream.JetStream, service string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return deadletter.Count(ctx, js, service)
}
