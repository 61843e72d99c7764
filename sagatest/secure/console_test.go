package secure_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/console"
	"github.com/choreo-dev/choreo/shared/natsauth"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go"
)

// console checks the console under its own identity: it sees every
// service ready (through their HTTP endpoints), the durables and their
// backlog, the sagas, one saga whole, and the dead letters, which it reads,
// redrives and purges — and NATS refused it nothing.
func (p *profile) console(t *testing.T) {
	addr := p.st.Addr("console")
	if addr == "" {
		t.Fatal("the console did not say where it listens")
	}
	base := "http://" + addr
	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s\n%s", path, resp.Status, b)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, b)
		}
	}
	natstest.Eventually(t, 30*time.Second, func() error {
		var o console.Overview
		get("/api/overview", &o)
		var problems []string
		for _, s := range o.Services {
			if !s.Ready {
				problems = append(problems, fmt.Sprintf("%s not ready (%s)", s.Name, s.Error))
			}
		}
		if o.JetStreamError != "" || o.DeadLetters.Error != "" || len(o.Consumers) == 0 || len(o.Services) != 4 {
			problems = append(problems, fmt.Sprintf("jetstream %q, dead letters %q, %d consumers, %d services",
				o.JetStreamError, o.DeadLetters.Error, len(o.Consumers), len(o.Services)))
		}
		if len(problems) > 0 {
			return fmt.Errorf("overview: %s", strings.Join(problems, "; "))
		}
		return nil
	})
	var l console.SagaList
	get("/api/sagas?customer=alice", &l)
	if l.Error != "" || len(l.Orders) != 3 {
		t.Errorf("alice's sagas: %+v", l)
	}
	get("/api/sagas?stuck=1", &l)
	if l.Error != "" {
		t.Errorf("stuck sagas: %s", l.Error)
	}
	var v console.SagaView
	get("/api/sagas/no-shipping", &v)
	if v.OrderError+v.TimelineError+v.PaymentError+v.BalanceError+v.ShipmentError != "" || len(v.Stock) != 1 || v.Stock[0].Error != "" ||
		v.Where.CompensationsDone == nil || !*v.Where.CompensationsDone {
		t.Errorf("the compensated saga: %+v", v)
	}

	// A dead letter of each of PaymentCompleted's consumers: an event that
	// cannot be decoded, published as the admin (who may, to redrive).
	admin := p.connect(t, natsauth.Admin)
	m := nats.NewMsg("payment.events.PaymentCompleted.console-x")
	m.Data = []byte("not json")
	if err := admin.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	letters := func(n int) []console.LetterRow {
		t.Helper()
		var ll console.LetterList
		natstest.Eventually(t, 30*time.Second, func() error {
			get("/api/dead-letters", &ll)
			if ll.Error != "" || len(ll.Letters) != n {
				return fmt.Errorf("%d dead letters (%s), want %d", len(ll.Letters), ll.Error, n)
			}
			return nil
		})
		return ll.Letters
	}
	resp, err := http.Get(base + "/dead-letters")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	token := regexp.MustCompile(`name="choreo-token" content="([^"]+)"`).FindStringSubmatch(page)
	if token == nil {
		t.Fatalf("no token in the page:\n%s", page)
	}
	act := func(seq uint64, what string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/dead-letters/%d/%s", base, seq, what), nil)
		req.Header.Set("Origin", base)
		req.Header.Set(console.TokenHeader, token[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %d: %s %s", what, seq, resp.Status, b)
		}
	}
	first := letters(2)
	var d console.LetterDetail
	get(fmt.Sprintf("/api/dead-letters/%d", first[0].Seq), &d)
	if d.Body != "not json" {
		t.Errorf("letter %d: %+v", first[0].Seq, d)
	}
	// Redriven (still undecodable), it comes back from both consumers.
	act(first[0].Seq, "redrive")
	for _, l := range letters(3) {
		act(l.Seq, "purge")
	}
	letters(0)
	if n := streamMsgs(t, p.observer, streams.DLQ); n != 0 {
		t.Errorf("%d dead letters left", n)
	}
	if out := p.st.Proc("console").Output(); strings.Contains(out, "Permissions Violation") || strings.Contains(out, `"level":"error"`) {
		t.Errorf("NATS refused the console something:\n%s", out)
	}
}
