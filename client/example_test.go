package client_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/payment"
	"github.com/choreo-dev/choreo/shared/service"
)

// The example runs the payment service against an embedded JetStream server
// and talks to it as any caller would.
func Example() {
	dir, err := os.MkdirTemp("", "choreo-client-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		panic(err)
	}
	go ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		panic("nats-server not ready")
	}
	ctx, stop := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- service.Run(ctx, payment.Spec(), service.Options{NATSURL: ns.ClientURL(), DataDir: dir, Logger: zerolog.Nop(), Ready: ready})
	}()
	defer func() { stop(); <-done }()
	<-ready

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	c := client.New(nc)

	b, err := c.Deposit(ctx, "ada", 2500)
	fmt.Println(b.CustomerID, b.BalanceCents, err)

	_, err = c.Deposit(ctx, "ada", -5)
	fmt.Println(err, errors.Is(err, client.ErrInvalidArgument))

	_, err = c.Balance(ctx, "bob")
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, client.Code(err), e.Message)
	}

	_, err = c.Stock(ctx, "widget") // the inventory service is not running
	fmt.Println(errors.Is(err, client.ErrNoResponders))
	// Output:
	// ada 2500 <nil>
	// amount_cents must be between 1 and 1000000000 true
	// 404 not_found customer_id bob: customer not found
	// true
}
