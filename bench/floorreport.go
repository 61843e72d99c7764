package bench

import (
	"fmt"
	"strings"
)

// Aim is one of the latency aims, checked within one run.
type Aim struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	Unit  string  `json:"unit"` // "×" (a ratio) or "ms" or ""
	Met   bool    `json:"met"`
}

// Aims checks the latency aims that one run can: the saga against the raw
// chain at 100/s, its p99 at half the closed-loop maximum against its p99
// at 100/s, its p99 at 500/s, and its publishing rate against the raw
// publish rate. An aim whose phases did not run is left out.
func (r *Results) Aims() []Aim {
	var out []Aim
	add := func(name string, value, limit float64, unit string) {
		out = append(out, Aim{Name: name, Value: round(value, 3), Limit: limit, Unit: unit, Met: value <= limit})
	}
	at100, ok100 := r.openAt(func(p PhaseResult) bool { return p.OfferedPerSec == 100 })
	chain100, okChain := r.chainAt(100)
	if ok100 && okChain && chain100.Latency.P50 > 0 {
		add("p50 at 100/s ÷ raw chain p50 at 100/s", at100.Latency.P50/chain100.Latency.P50, 1.5, "×")
		add("p99 at 100/s ÷ raw chain p50 at 100/s", at100.Latency.P99/chain100.Latency.P50, 3, "×")
	}
	if half, ok := r.openAt(func(p PhaseResult) bool { return p.Label == "50% of max" }); ok && ok100 && at100.Latency.P99 > 0 {
		add("p99 at 50% of max ÷ p99 at 100/s", half.Latency.P99/at100.Latency.P99, 2, "×")
	}
	if r.P99At500 != nil {
		add("p99 at 500/s", *r.P99At500, 50, "ms")
	}
	if r.RatioToRaw > 0 {
		out = append(out, Aim{Name: "ratio to raw", Value: r.RatioToRaw, Limit: 0.6, Met: r.RatioToRaw >= 0.6})
	}
	return out
}

func (r *Results) openAt(match func(PhaseResult) bool) (PhaseResult, bool) {
	for _, p := range r.OpenLoop {
		if match(p) {
			return p, true
		}
	}
	return PhaseResult{}, false
}

func (r *Results) chainAt(rate float64) (PhaseResult, bool) {
	for _, p := range r.Floor.Chain {
		if p.OfferedPerSec == rate {
			return p, true
		}
	}
	return PhaseResult{}, false
}

// floorMarkdown writes the floor, the saga against it, the aims and the
// breakdowns.
func (r *Results) floorMarkdown(b *strings.Builder) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	f := r.Floor
	if f.Fdatasync.Count > 0 {
		w("\n### The floor\n\n")
		w("With the stack idle: the disk's fdatasync of a 4 KiB write p50 %s / p99 %s ms (%d times); a synchronous JetStream publish "+
			"(600 B, Nats-Msg-Id) p50 %s / p99 %s ms (%d times).\n",
			num(f.Fdatasync.P50), num(f.Fdatasync.P99), f.Fdatasync.Count, num(f.PublishRTT.P50), num(f.PublishRTT.P99), f.PublishRTT.Count)
	}
	if len(f.Chain) > 0 {
		w("The raw chain: %d hops, each a bbolt transaction with fsync and then a JetStream publish that the next hop pulls "+
			"(at each rate right after the saga's phase). Saga figures also as a multiple of the chain's p50 at that rate.\n\n", ChainHops)
		w("| offered/s | chain achieved/s | chain p50 ms | chain p99 ms | saga p50 ms | saga p95 ms | saga p99 ms | saga max ms |\n")
		w("| --: | --: | --: | --: | --: | --: | --: | --: |\n")
		for _, c := range f.Chain {
			s, ok := r.openAt(func(p PhaseResult) bool { return p.OfferedPerSec == c.OfferedPerSec })
			if !ok {
				continue
			}
			times := func(x float64) string {
				if c.Latency.P50 <= 0 {
					return num(x)
				}
				return fmt.Sprintf("%s (%.1f×)", num(x), x/c.Latency.P50)
			}
			w("| %s | %.0f | %s | %s | %s | %s | %s | %s |\n", rateLabel(c.OfferedPerSec, c.Label), c.AchievedPerSec, num(c.Latency.P50), num(c.Latency.P99),
				times(s.Latency.P50), times(s.Latency.P95), times(s.Latency.P99), times(s.Latency.Max))
		}
	}
	if aims := r.Aims(); len(aims) > 0 {
		w("\n### Latency aims\n\n| aim | value | limit | met |\n| --- | --: | --: | --- |\n")
		for _, a := range aims {
			cmp := "<="
			if a.Name == "ratio to raw" {
				cmp = ">="
			}
			w("| %s | %s%s | %s %s%s | %s |\n", a.Name, num(a.Value), unitSuffix(a.Unit), cmp, trimNum(a.Limit), unitSuffix(a.Unit), yesNo(a.Met))
		}
	}
	if len(r.Breakdowns) > 0 {
		w("\n### Where the milliseconds go\n\n")
		w("Completed sagas of the traced phases, from the times each service recorded at each stage (package stages) and the load\n" +
			"generator's own: each stage runs from one recorded time to the next on the saga's path, so the stages add up to the\n" +
			"saga's latency; the rows marked (beside) run alongside the path.\n\n")
		for _, bd := range r.Breakdowns {
			w("%s\n", bd.Markdown())
		}
	}
}

func unitSuffix(u string) string {
	switch u {
	case "":
		return ""
	case "ms":
		return " ms"
	}
	return u
}

// rateLabel names an open-loop rate in the tables: "386 (50% of max)".
func rateLabel(rate float64, label string) string {
	s := fmt.Sprintf("%.0f", rate)
	if label != "" {
		s += " (" + label + ")"
	}
	return s
}
