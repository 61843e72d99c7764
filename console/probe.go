package console

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/choreo-dev/choreo/shared/health"
)

// The metrics the overview reads from each service's /metrics (contract,
// section 6), each summed over its series.
const (
	metricOutbox      = "choreo_outbox_entries"
	metricOutboxAge   = "choreo_outbox_oldest_age_seconds"
	metricDeadLetters = "choreo_dead_letters"
	metricInFlight    = "choreo_sagas_in_flight"
	metricStuck       = "choreo_sagas_stuck"
	metricSetAside    = "choreo_consumer_set_aside"
)

var readMetrics = []string{metricOutbox, metricOutboxAge, metricDeadLetters, metricInFlight, metricStuck, metricSetAside}

// maxScrape bounds what the console reads of an HTTP answer.
const maxScrape = 8 << 20

// ServiceState is what the overview knows of one service from its HTTP
// endpoint.
type ServiceState struct {
	Name     string `json:"name"`
	HTTPAddr string `json:"http_addr"`
	// Served is false when the service has no HTTP endpoint to ask.
	Served bool `json:"served"`
	// Reachable: its endpoint answered /readyz.
	Reachable bool `json:"reachable"`
	Ready     bool `json:"ready"`
	// Error says why it could not be asked.
	Error string `json:"error,omitempty"`
	// Checks are /readyz's checks, the failing first.
	Checks []health.Status `json:"checks"`
	// Metrics are the values of readMetrics it exposes (a metric it does
	// not expose is absent).
	Metrics map[string]float64 `json:"metrics"`
}

// probe asks a service's /readyz and /metrics.
func probe(ctx context.Context, hc *http.Client, e Endpoint) ServiceState {
	st := ServiceState{Name: e.Name, HTTPAddr: e.HTTPAddr, Served: e.Served(), Checks: []health.Status{}, Metrics: map[string]float64{}}
	if !st.Served {
		return st
	}
	var rep health.Report
	code, err := get(ctx, hc, "http://"+e.HTTPAddr+"/readyz", func(r io.Reader) error { return json.NewDecoder(r).Decode(&rep) })
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st.Reachable, st.Ready = true, rep.Ready && code == http.StatusOK
	for _, c := range rep.Checks {
		if !c.OK {
			st.Checks = append(st.Checks, c)
		}
	}
	for _, c := range rep.Checks {
		if c.OK {
			st.Checks = append(st.Checks, c)
		}
	}
	if _, err := get(ctx, hc, "http://"+e.HTTPAddr+"/metrics", func(r io.Reader) error {
		var err error
		st.Metrics, err = parseMetrics(r, readMetrics)
		return err
	}); err != nil {
		st.Error = "metrics: " + err.Error()
	}
	return st
}

// get fetches url and hands its body, bounded, to read.
func get(ctx context.Context, hc *http.Client, u string, read func(io.Reader) error) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err // "connection refused", not the whole URL again
		}
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return resp.StatusCode, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if err := read(io.LimitReader(resp.Body, maxScrape)); err != nil {
		return resp.StatusCode, fmt.Errorf("GET %s: %w", u, err)
	}
	return resp.StatusCode, nil
}

// parseMetrics sums, for each of names, the values of its series in a
// Prometheus text exposition.
func parseMetrics(r io.Reader, names []string) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if !want[name] {
			continue
		}
		if strings.HasPrefix(rest, "{") {
			j := strings.LastIndexByte(rest, '}')
			if j < 0 {
				continue
			}
			rest = rest[j+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out[name] += v
	}
	return out, sc.Err()
}

// newHTTPClient is the client the console asks the services with: no
// proxy from the environment (the endpoints are local), each answer within
// timeout.
func newHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}}
}
