package bench_test

import (
	"testing"
	"time"

	"github.com/choreo-dev/choreo/bench"
)

func msd(vs ...float64) []time.Duration {
	out := make([]time.Duration, len(vs))
	for i, v := range vs {
		out[i] = time.Duration(v * float64(time.Millisecond))
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	t.Parallel()
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond // 1..100 ms
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value is every percentile", msd(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p95 of 1..100", hundred, 95, 95 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 is the max", hundred, 100, 100 * time.Millisecond},
		{"tiny p is the min", hundred, 0.001, 1 * time.Millisecond},
		{"p50 of four rounds up the rank", msd(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of ten is the max", msd(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p90 of ten", msd(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := bench.Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	// Unsorted on purpose: Summarize sorts.
	ds := msd(5, 1, 4, 2, 3, 100, 6, 7, 8, 9)
	got := bench.Summarize(ds)
	want := bench.Latency{Count: 10, Mean: 14.5, P50: 5, P95: 100, P99: 100, Max: 100}
	if got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
	if z := bench.Summarize(nil); z != (bench.Latency{}) {
		t.Errorf("Summarize(nil) = %+v, want zeros", z)
	}
	// Sub-millisecond values keep microsecond precision.
	if got := bench.Summarize([]time.Duration{1234567 * time.Nanosecond}); got.P50 != 1.235 || got.Max != 1.235 {
		t.Errorf("Summarize(1.234567ms) = %+v, want 1.235 ms", got)
	}
}

func TestParseRates(t *testing.T) {
	t.Parallel()
	got, err := bench.ParseRates("100, 500,1000,50%,80%")
	if err != nil {
		t.Fatal(err)
	}
	want := []bench.Rate{{100, false}, {500, false}, {1000, false}, {50, true}, {80, true}}
	if len(got) != len(want) {
		t.Fatalf("ParseRates = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("rate %d = %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"fast", "-5", "0", "10%%", "NaN"} {
		if _, err := bench.ParseRates(bad); err == nil {
			t.Errorf("ParseRates(%q) = nil error", bad)
		}
	}
}
