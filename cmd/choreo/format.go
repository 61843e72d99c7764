package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/choreo-dev/choreo/client"
)

// money formats cents as a decimal amount: 123456 → "1234.56".
func money(cents int64) string {
	sign, u := "", uint64(cents)
	if cents < 0 {
		sign, u = "-", uint64(-cents)
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// milliTime is RFC 3339 with milliseconds, for events: they come many to a
// second.
const milliTime = "2006-01-02T15:04:05.000Z07:00"

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// table writes tab-separated rows as aligned columns.
func table(w io.Writer, rows ...[]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func printOrder(w io.Writer, v client.OrderView) {
	status := v.Status
	if v.CancelReason != "" {
		status += " (" + v.CancelReason + ")"
	}
	a := v.ShippingAddress
	rows := [][]string{
		{"order", v.OrderID},
		{"customer", v.CustomerID},
		{"status", status},
		{"steps", fmt.Sprintf("payment=%s inventory=%s shipping=%s", v.Steps.Payment, v.Steps.Inventory, v.Steps.Shipping)},
		{"total", money(v.TotalCents) + " " + v.Currency},
	}
	for i, it := range v.Items {
		label := ""
		if i == 0 {
			label = "items"
		}
		rows = append(rows, []string{label, fmt.Sprintf("%s x%d @ %s", it.SKU, it.Quantity, money(it.UnitPriceCents))})
	}
	rows = append(rows,
		[]string{"ship to", fmt.Sprintf("%s, %s, %s %s, %s", a.Name, a.Line1, a.PostalCode, a.City, a.Country)},
		[]string{"version", strconv.FormatUint(v.Version, 10)},
		[]string{"created", stamp(v.CreatedAt)},
		[]string{"updated", stamp(v.UpdatedAt)},
	)
	table(w, rows...)
}
