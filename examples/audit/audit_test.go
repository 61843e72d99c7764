package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/examples/audit"
	"github.com/choreo-dev/choreo/sagatest"
	"github.com/choreo-dev/choreo/shared/natstest"
	"github.com/choreo-dev/choreo/shared/saga"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/choreo-dev/choreo/stack"
	"github.com/choreo-dev/choreo/stack/stacktest"
	"github.com/nats-io/nats.go"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

func placeAndWait(t *testing.T, c *client.Client, r client.PlaceRequest, status string) string {
	t.Helper()
	v, err := c.Place(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, 30*time.Second, func() error {
		o, err := c.Get(t.Context(), v.OrderID)
		if err == nil && o.Status != status {
			err = fmt.Errorf("%s is %s", o.OrderID, o.Status)
		}
		return err
	})
	return v.OrderID
}

func trail(t *testing.T, nc *nats.Conn, id string, want []string) {
	t.Helper()
	c := client.New(nc)
	natstest.Eventually(t, 30*time.Second, func() error {
		var tr audit.Trail
		if err := c.Call(t.Context(), "audit.trail", map[string]string{"order_id": id}, &tr); err != nil {
			return err
		}
		var got []string
		for _, e := range tr.Entries {
			got = append(got, e.Service+":"+e.Type)
		}
		slices.Sort(got)
		if w := slices.Sorted(slices.Values(want)); !slices.Equal(got, w) {
			return fmt.Errorf("trail of %s:\n got %v\nwant %v", id, got, w)
		}
		return nil
	})
}

var (
	completed = []string{"order:OrderPlaced", "payment:PaymentCompleted", "order:OrderPaid", "inventory:StockReserved",
		"order:OrderReserved", "shipping:ShipmentScheduled", "order:OrderCompleted"}
	compensated = []string{"order:OrderPlaced", "payment:PaymentCompleted", "order:OrderPaid", "inventory:StockReserved",
		"order:OrderReserved", "shipping:ShipmentFailed", "order:OrderCancelled", "payment:PaymentRefunded", "inventory:StockReleased"}
)

func order(country string) client.PlaceRequest {
	return client.PlaceRequest{CustomerID: "auditor", ShippingAddress: sagatest.Addr(country),
		Items: []client.Item{{SKU: "ledger", Quantity: 1, UnitPriceCents: 700}}}
}

// The fifth service runs in the end-to-end harness beside the four, built
// from the kernel alone, and keeps every saga event of every order.
func TestAuditHearsEverySaga(t *testing.T) {
	t.Parallel()
	s := sagatest.Start(t, sagatest.Options{Extra: []service.Spec{audit.Spec()}})
	c := client.New(s.NC)
	if _, err := c.Deposit(t.Context(), "auditor", 10_000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Restock(t.Context(), "ledger", 10); err != nil {
		t.Fatal(err)
	}
	trail(t, s.NC, placeAndWait(t, c, order("GB"), "completed"), completed)
	trail(t, s.NC, placeAndWait(t, c, order("BR"), "cancelled"), compensated)
}

// The saga check takes the fifth declaration with the four.
func TestFiveServicesMakeASoundSaga(t *testing.T) {
	t.Parallel()
	descs := append(sagatest.Declarations(), audit.Spec().Describe())
	if problems := saga.Check(descs...); problems != nil {
		t.Fatalf("%q", problems)
	}
}

// Adding the service to a deployment is one Procfile line: the process
// harness, which knows no service by name, starts it from the Procfile with
// the others.
func TestAuditFromAProcfileLine(t *testing.T) {
	t.Parallel()
	repo := stacktest.Repo(t)
	procfile, err := os.ReadFile(filepath.Join(repo, "Procfile"))
	if err != nil {
		t.Fatal(err)
	}
	withAudit := filepath.Join(t.TempDir(), "Procfile")
	if err := os.WriteFile(withAudit, append(procfile, []byte("audit: bin/audit\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := stack.New(stack.Config{Repo: repo, Procfile: withAudit, Bin: stacktest.Bin(t), WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if !slices.Contains(st.Services(), "audit") {
		t.Fatalf("services %v", st.Services())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := st.StartAll(ctx); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(st.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := client.New(nc)
	if _, err := c.Deposit(ctx, "auditor", 10_000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Restock(ctx, "ledger", 10); err != nil {
		t.Fatal(err)
	}
	trail(t, nc, placeAndWait(t, c, order("GB"), "completed"), completed)
	for _, ex := range st.StopAll(30 * time.Second) {
		if ex.Code != 0 && !strings.HasPrefix(ex.Name, "nats") {
			t.Errorf("%s exited %d", ex.Name, ex.Code)
		}
	}
}
