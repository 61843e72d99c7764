package sagatest_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/choreo-dev/choreo/inventory"
	orderservice "github.com/choreo-dev/choreo/order"
	"github.com/choreo-dev/choreo/payment"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shipping"
)

var metricName = regexp.MustCompile(`\b(?:choreo|process|go)_[a-z_]+\b`)

// TestDashboardUsesExposedMetrics: every metric the Grafana dashboard and
// the alerting rules in docs/observability use is one a service exposes,
// and the scrape configuration scrapes the services' default addresses.
func TestDashboardUsesExposedMetrics(t *testing.T) {
	t.Parallel()
	var used []string
	for _, f := range []string{"grafana-dashboard.json", "alerts.yml"} {
		b, err := os.ReadFile("../docs/observability/" + f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range metricName.FindAllString(string(b), -1) {
			for _, sfx := range []string{"_bucket", "_sum", "_count"} {
				m = strings.TrimSuffix(m, sfx)
			}
			if !slices.Contains(used, m) {
				used = append(used, m)
			}
		}
	}
	if len(used) < 20 {
		t.Fatalf("the dashboard and rules use only %d metrics: %v", len(used), used)
	}
	scrapeConf, err := os.ReadFile("../docs/observability/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{orderservice.DefaultHTTPAddr, payment.DefaultHTTPAddr, inventory.DefaultHTTPAddr, shipping.DefaultHTTPAddr} {
		if !strings.Contains(string(scrapeConf), "- "+addr) {
			t.Errorf("prometheus.yml does not scrape %s", addr)
		}
	}

	// Every kind of series has a sample once a saga completed, one was
	// compensated, and a message was dead-lettered.
	// One partition whatever CHOREO_SAGATEST_PARTITIONS says: partitioned,
	// only partition 0 serves HTTP, and the sagas may all be the others'.
	s := sagatest.Start(t, sagatest.Options{HTTP: true, Partitions: 1})
	c := sagatest.NewClient(s.NC)
	deposit(t, c, "dana", 10_000)
	restock(t, c, "dial", 10)
	waitTimeline(t, c, place(t, c, order("dana", "dial", 1, 100, "US")).OrderID, ended("completed"))
	waitTimeline(t, c, place(t, c, order("dana", "dial", 1, 100, "BR")).OrderID, ended("cancelled"))
	publish(t, s.JS, "order.events.OrderPlaced.junk", []byte("junk"), "")
	natstest.Eventually(t, wait, func() error {
		exposed := map[string]bool{}
		for _, svc := range sagatest.Services {
			m, err := scrape(s, svc)
			if err != nil {
				return err
			}
			for _, line := range strings.Split(m, "\n") {
				if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
					exposed[f[2]] = true
				}
			}
		}
		var missing []string
		for _, m := range used {
			if !exposed[m] {
				missing = append(missing, m)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("the dashboard or the rules use metrics no service exposes: %v", missing)
		}
		return nil
	})
}
