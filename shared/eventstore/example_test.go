package eventstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
)

// deposited is a domain event: a plain value that names its type.
type deposited struct {
	Cents int64 `json:"cents"`
}

func (deposited) EventType() string { return "Deposited" }

// wallet is an aggregate: data plus a pure evolve function.
type wallet struct {
	Balance int64 `json:"balance"`
}

var walletAgg = eventstore.Aggregate[wallet]{
	Type: "wallet",
	New:  func(string) wallet { return wallet{} },
	Evolve: func(w wallet, e envelope.Event) wallet {
		if d, ok := e.(deposited); ok {
			w.Balance += d.Cents
		}
		return w
	},
}

// A command is one transaction: load, decide, append with the loaded
// version. The event, its outbox entry and the projections commit together,
// and Update returns only after the fsync.
func ExampleUpdate() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	reg := envelope.NewRegistry()
	envelope.RegisterPublic[deposited](reg, "payment")
	store, err := eventstore.Open(filepath.Join(dir, "payment.db"), eventstore.Options{Service: "payment", Registry: reg})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	for _, cents := range []int64{500, 250} {
		err := store.Update(context.Background(), func(tx *eventstore.Tx) error {
			meta := eventstore.Meta{CorrelationID: "alice", CausationID: envelope.NewID()}
			_, err := eventstore.Update(tx, walletAgg, "alice", meta, func(w wallet) ([]envelope.Event, error) {
				return []envelope.Event{deposited{Cents: cents}}, nil
			})
			return err
		})
		if err != nil {
			panic(err)
		}
	}
	_ = store.View(context.Background(), func(tx *eventstore.Tx) error {
		w, version, _ := eventstore.Load(tx, walletAgg, "alice")
		fmt.Printf("balance %d at version %d\n", w.Balance, version)
		return nil
	})
	entries, _ := store.PendingOutbox(context.Background(), 10)
	for _, e := range entries {
		fmt.Println("to publish:", e.Subject)
	}
	// Output:
	// balance 750 at version 2
	// to publish: payment.events.Deposited.alice
	// to publish: payment.events.Deposited.alice
}
