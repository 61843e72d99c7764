package endpoint_test

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/choreo-dev/choreo/shared/endpoint"
)

// depositRequest is a request type: pointer fields tell a missing number
// from zero, and Validate names the offending field.
type depositRequest struct {
	CustomerID  string `json:"customer_id"`
	AmountCents *int64 `json:"amount_cents"`
}

func (r *depositRequest) Validate() error {
	var p endpoint.Problems
	p.ID("customer_id", r.CustomerID)
	p.Required("amount_cents", r.AmountCents != nil)
	if r.AmountCents != nil {
		p.IntRange("amount_cents", *r.AmountCents, 1, 1_000_000_000)
	}
	return p.Err()
}

type balance struct {
	CustomerID   string `json:"customer_id"`
	BalanceCents int64  `json:"balance_cents"`
}

func Example() {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		panic(err)
	}
	go ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		panic("nats-server not ready")
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		panic(err)
	}
	defer nc.Close()

	deposit := func(ctx context.Context, r *depositRequest) (any, error) {
		if r.CustomerID == "ghost" {
			return nil, endpoint.NotFound("customer %s not found", r.CustomerID)
		}
		return balance{CustomerID: r.CustomerID, BalanceCents: *r.AmountCents}, nil
	}
	srv, err := endpoint.Start(nc, endpoint.Config{Name: "payment", Version: "1.0.0"},
		endpoint.New("payment.deposit", deposit))
	if err != nil {
		panic(err)
	}
	defer srv.Stop()

	for _, body := range []string{
		`{"customer_id":"c1","amount_cents":500}`,
		`{"customer_id":"c1","amount_cents":0}`,
		`{"customer_id":"c1","amount":5}`,
		`{"customer_id":"ghost","amount_cents":5}`,
	} {
		msg, err := nc.Request("payment.deposit", []byte(body), 10*time.Second)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%q %s\n", msg.Header.Get(micro.ErrorCodeHeader), msg.Data)
	}
	// Output:
	// "" {"customer_id":"c1","balance_cents":500}
	// "400" {"error":{"code":"invalid_argument","message":"amount_cents must be between 1 and 1000000000"}}
	// "400" {"error":{"code":"invalid_argument","message":"amount: unknown field"}}
	// "404" {"error":{"code":"not_found","message":"customer ghost not found"}}
}
