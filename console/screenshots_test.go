package console_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/console"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/chromedp/chromedp"
)

var update = flag.Bool("update", false, "write the console's screenshots into docs/console (go test ./console -run Screenshots -update)")

// screenshots is where the README's pictures of the console are.
const screenshots = "../docs/console"

// TestScreenshots writes a picture of each page into docs/console, of a
// stack having a bad day: orders flowing, some cancelled and compensated,
// dead letters, and then shipping gone, sagas stuck behind it and its
// backlog growing. Only with -update.
func TestScreenshots(t *testing.T) {
	if !*update {
		t.Skip("writes docs/console/*.png: go test ./console -run Screenshots -update")
	}
	browser := newBrowser(t)
	w := start(t, sagatest.Options{}, func(c *console.Config) { c.Window = 2 * time.Minute }) // a chart of a short run

	w.fund(map[string]int64{"ada": 1_000_000, "grace": 1_000_000, "linus": 300}, map[string]int64{"widget": 500, "gadget": 200, "gizmo": 2})
	type line struct {
		id, customer, sku string
		qty               int64
		cc                string
	}
	var lines []line
	for i := range 24 {
		l := line{fmt.Sprintf("o-%03d", i), []string{"ada", "grace"}[i%2], []string{"widget", "gadget"}[i%2], 1 + int64(i%3), "GB"}
		switch i % 8 {
		case 3:
			l.customer = "linus" // cannot pay
		case 5:
			l.cc = "BR" // not served: refund and release
		case 7:
			l.sku, l.qty = "gizmo", 5 // not enough stock: refund
		}
		lines = append(lines, l)
	}
	for _, l := range lines {
		w.place(l.id, l.customer, l.sku, l.qty, l.cc)
		time.Sleep(time.Second) // pacing: the orders spread over the chart's buckets (not a wait for an outcome)
	}
	for _, l := range lines {
		w.over(l.id)
	}
	w.deadLetter("o-bad")
	w.letters(2)

	tb := openTab(t, browser)
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(screenshots, name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d KiB)", path, len(png)>>10)
	}
	if err := os.MkdirAll(screenshots, 0o755); err != nil {
		t.Fatal(err)
	}

	tb.do(chromedp.Navigate(w.url+"/sagas/o-005"), chromedp.WaitVisible(chromedp.CSS("svg.swimlanes")))
	tb.until("the compensations", `!!document.getElementById('compensations')`)
	shot("saga")

	tb.do(chromedp.Navigate(w.url+"/dead-letters"), chromedp.WaitVisible(chromedp.CSS("table.letters button.show")),
		chromedp.Click(chromedp.CSS("table.letters button.show")), chromedp.WaitVisible(chromedp.CSS("#letter-body")))
	shot("dead-letters")

	// Shipping goes away; orders keep coming and wait for it.
	w.s.StopService("shipping")
	for i := range 8 {
		w.place(fmt.Sprintf("o-%03d", 100+i), "ada", "widget", 1, "GB")
	}
	natstest.Eventually(t, wait, func() error { return status(w, "o-107", "reserved") })
	tb.do(chromedp.Navigate(w.url + "/"))
	tb.until("shipping down, the backlog growing and the stuck sagas", `(() => {
		const t = document.getElementById('alerts').textContent;
		return t.includes('shipping does not answer') && t.includes('is growing') && t.includes('in flight for more than');
	})()`)
	shot("overview")

	tb.do(chromedp.Navigate(w.url+"/sagas"), chromedp.WaitVisible(chromedp.CSS(`tr[data-order="o-107"]`)))
	shot("sagas")
}
