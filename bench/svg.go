package bench

import (
	"cmp"
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
)

// LatencySVG draws latency against achieved throughput from the open-loop
// phases: p50, p95 and p99 lines over achieved sagas/s (points joined in
// order of offered rate, each labelled with it), the latency axis
// logarithmic (overload pushes p99 up by orders of magnitude), with the
// closed-loop maximum and the p99 goal marked.
func LatencySVG(r *Results) string {
	const (
		W, H                     = 760, 460
		left, right, top, bottom = 80, 30, 50, 70
	)
	pw, ph := float64(W-left-right), float64(H-top-bottom)
	pts := slices.Clone(r.OpenLoop)
	// In order of offered rate: past saturation the achieved rate falls
	// back and the curve bends left, which is the honest picture.
	slices.SortFunc(pts, func(a, b PhaseResult) int { return cmp.Compare(a.OfferedPerSec, b.OfferedPerSec) })
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	w(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	w(`<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", left,
		html.EscapeString(fmt.Sprintf("Choreo saga latency vs throughput — JetStream sync %s%s", r.Sync, map[bool]string{true: ", secure profile"}[r.Profile == ProfileSecure])))
	w(`<text x="%d" y="40" fill="#555">%s</text>`+"\n", left, html.EscapeString(fmt.Sprintf(
		"open loop, %0.fs per rate; closed-loop max %.0f sagas/s (%d workers); %s, %d CPUs",
		r.Config.OpenDurationSec, r.SagasPerSec, r.ClosedLoop.Workers, r.Machine.Date, r.Machine.CPUs)))

	// Scales.
	xmax := r.SagasPerSec
	lo, hi := math.Inf(1), 0.0
	for _, p := range pts {
		xmax = max(xmax, p.AchievedPerSec)
		for _, v := range []float64{p.Latency.P50, p.Latency.P99} {
			if v > 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	xmax = niceCeil(max(xmax*1.05, 1))
	if math.IsInf(lo, 1) {
		lo, hi = 1, 100
	}
	lo, hi = min(lo, 10), max(hi, 30) // keep the p99 goal in view
	ylo := math.Pow(10, math.Floor(math.Log10(max(lo, 0.01))))
	yhi := math.Pow(10, math.Ceil(math.Log10(hi*1.01)))
	x := func(v float64) float64 { return float64(left) + v/xmax*pw }
	y := func(v float64) float64 {
		v = max(v, ylo)
		return float64(top) + ph - (math.Log10(v)-math.Log10(ylo))/(math.Log10(yhi)-math.Log10(ylo))*ph
	}

	// Grid and axes.
	step := xmax / 5
	for i := 0; i <= 5; i++ {
		v := step * float64(i)
		w(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>`+"\n", x(v), top, x(v), H-bottom)
		w(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(v), H-bottom+18, trimNum(v))
	}
	for d := ylo; d <= yhi*1.0001; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := d * m
			if v > yhi*1.0001 {
				break
			}
			stroke := "#f0f0f0"
			if m == 1 {
				stroke = "#d8d8d8"
			}
			w(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", left, y(v), W-right, y(v), stroke)
			w(`<text x="%d" y="%.1f" text-anchor="end" dy="4">%s</text>`+"\n", left-6, y(v), trimNum(v))
		}
	}
	w(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, H-bottom, W-right, H-bottom)
	w(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, H-bottom)
	w(`<text x="%.1f" y="%d" text-anchor="middle">achieved throughput (terminal sagas/s)</text>`+"\n", float64(left)+pw/2, H-bottom+42)
	w(`<text transform="translate(20 %.1f) rotate(-90)" text-anchor="middle">latency order.place → terminal event (ms, log scale)</text>`+"\n", float64(top)+ph/2)

	// Markers: the p99 goal and the closed-loop maximum.
	w(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#c0392b" stroke-dasharray="2 4"/>`+"\n", left, y(25), W-right, y(25))
	w(`<text x="%d" y="%.1f" text-anchor="end" fill="#c0392b" dy="-4">p99 goal 25 ms</text>`+"\n", W-right-4, y(25))
	if r.SagasPerSec > 0 {
		w(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#555" stroke-dasharray="6 4"/>`+"\n", x(r.SagasPerSec), top, x(r.SagasPerSec), H-bottom)
		anchor, dx := "end", -4
		if x(r.SagasPerSec) < float64(left)+pw/2 {
			anchor, dx = "start", 4
		}
		w(`<text x="%.1f" y="%d" text-anchor="%s" fill="#555" dx="%d" dy="12">closed-loop max %.0f/s</text>`+"\n", x(r.SagasPerSec), top, anchor, dx, r.SagasPerSec)
	}

	// Series.
	series := []struct {
		name, color, dash string
		val               func(PhaseResult) float64
	}{
		{"p50", "#2471a3", "", func(p PhaseResult) float64 { return p.Latency.P50 }},
		{"p95", "#7f8c8d", "5 3", func(p PhaseResult) float64 { return p.Latency.P95 }},
		{"p99", "#c0392b", "", func(p PhaseResult) float64 { return p.Latency.P99 }},
	}
	for i, s := range series {
		var path []string
		for _, p := range pts {
			if p.Latency.Count > 0 {
				path = append(path, fmt.Sprintf("%.1f,%.1f", x(p.AchievedPerSec), y(s.val(p))))
			}
		}
		if len(path) > 0 {
			w(`<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s" points="%s"/>`+"\n", s.color, s.dash, strings.Join(path, " "))
		}
		for _, p := range pts {
			if p.Latency.Count == 0 {
				continue
			}
			w(`<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s</title></circle>`+"\n", x(p.AchievedPerSec), y(s.val(p)), s.color,
				html.EscapeString(fmt.Sprintf("offered %.0f/s, achieved %.0f/s: %s %s ms", p.OfferedPerSec, p.AchievedPerSec, s.name, num(s.val(p)))))
			switch s.name {
			case "p50":
				w(`<text x="%.1f" y="%.1f" font-size="10" fill="%s" text-anchor="middle" dy="14">%s</text>`+"\n",
					x(p.AchievedPerSec), y(s.val(p)), s.color, num(s.val(p)))
			case "p99":
				w(`<text x="%.1f" y="%.1f" font-size="10" fill="%s" text-anchor="middle" dy="-7">%s</text>`+"\n",
					x(p.AchievedPerSec), y(s.val(p)), s.color, html.EscapeString(fmt.Sprintf("%.0f/s offered: %s", p.OfferedPerSec, num(s.val(p)))))
			}
		}
		// Legend.
		lx, ly := W-right-3*70+i*70, H-14
		w(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", lx, ly, lx+22, ly, s.color, s.dash)
		w(`<text x="%d" y="%d" dy="4">%s</text>`+"\n", lx+28, ly, s.name)
	}
	w("</svg>\n")
	return b.String()
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func trimNum(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
