package saga

import (
	"fmt"
	"strings"
)

// Mermaid draws the services' declarations as one Mermaid flowchart: a box
// per event, coloured by its role; an arrow labelled with the reacting
// service from each event to each event its reaction may emit (or to the
// service itself when the reaction emits nothing public); a dotted arrow from
// each effect to its compensation. Output is deterministic: it is checked
// in to the README and compared in a test.
func Mermaid(services ...Description) string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, s := range services {
		fmt.Fprintf(&b, "  subgraph %s[\"%s\"]\n", node("svc", s.Service), s.Service)
		for _, e := range s.Publishes {
			fmt.Fprintf(&b, "    %s(\"%s\"):::%s\n", node("ev", e.Type), e.Type, e.Role)
		}
		b.WriteString("  end\n")
	}
	sinks := map[string]bool{}
	for _, s := range services {
		for _, r := range s.Reactions {
			if len(r.Emits) == 0 {
				sink := node("rec", s.Service)
				if !sinks[sink] {
					fmt.Fprintf(&b, "  %s[[\"%s records\"]]\n", sink, s.Service)
					sinks[sink] = true
				}
				fmt.Fprintf(&b, "  %s --> %s\n", node("ev", r.On), sink)
				continue
			}
			for _, typ := range r.Emits {
				fmt.Fprintf(&b, "  %s -- %s --> %s\n", node("ev", r.On), s.Service, node("ev", typ))
			}
		}
	}
	for _, s := range services {
		for _, e := range s.Publishes {
			if e.CompensatedBy != "" {
				fmt.Fprintf(&b, "  %s -. compensated by .-> %s\n", node("ev", e.Type), node("ev", e.CompensatedBy))
			}
		}
	}
	for _, r := range []struct {
		role  Role
		style string
	}{
		{Start, "fill:#dbeafe,stroke:#1d4ed8"},
		{Step, "fill:#f1f5f9,stroke:#64748b"},
		{Effect, "fill:#dcfce7,stroke:#15803d"},
		{Failure, "fill:#fee2e2,stroke:#b91c1c"},
		{Compensation, "fill:#fef3c7,stroke:#b45309"},
		{Cancel, "fill:#fecaca,stroke:#7f1d1d,stroke-width:2px"},
		{Complete, "fill:#bbf7d0,stroke:#14532d,stroke-width:2px"},
		{Outside, "fill:#ffffff,stroke:#94a3b8,stroke-dasharray:3"},
	} {
		fmt.Fprintf(&b, "  classDef %s %s\n", r.role, r.style)
	}
	return b.String()
}

// node is a Mermaid node id: a prefix and a name made of word characters.
func node(prefix, name string) string {
	return prefix + "_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
}
