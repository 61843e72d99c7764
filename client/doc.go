// Package client is the typed client of the Choreo contract's commands and
// queries (docs/contract.md, section 2): one Go type per request and reply,
// and one method per endpoint on a [Client] over a *nats.Conn.
//
// # Basics
//
//	c := client.New(nc)
//	if _, err := c.Deposit(ctx, "ada", 10_000); err != nil { … }
//	v, err := c.Place(ctx, client.PlaceRequest{CustomerID: "ada", Items: …, ShippingAddress: …})
//	switch {
//	case errors.Is(err, client.ErrInvalidArgument): // the message names the field
//	case errors.Is(err, client.ErrTimeout):         // unknown outcome: place again with the same order_id
//	}
//
// The reply types here are the ones the services reply with, so a field
// added to a view is added for both sides at once.
//
// # Errors
//
// An error reply of the contract is an *[Error] carrying its status, code and
// message; it matches the sentinel of its code through errors.Is
// ([ErrNotFound], [ErrConflict], …) and [Code] returns its code. A request
// that no service is subscribed to fails with [ErrNoResponders]; one that got
// no reply before the context's deadline (or the client's timeout) fails with
// [ErrTimeout].
//
// # Caveats
//
// A timeout on a command is an unknown outcome: the service may have
// committed it. order.place is idempotent by order_id, so placing with an
// explicit order id and repeating it on a timeout is safe; deposits and
// restocks are not idempotent.
package client
