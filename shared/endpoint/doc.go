// Package endpoint exposes a service's commands and queries as NATS micro
// endpoints (github.com/nats-io/nats.go/micro), the way the contract
// (section 2) asks: JSON in, JSON out, and error replies that carry the
// micro error headers and a body {"error":{"code","message"}} whose message
// names the offending field.
//
// # Basics
//
// A service declares a request type with a Validate method (built with
// Problems), writes a Handler for it, and starts a Server:
//
//	srv, err := endpoint.Start(nc, endpoint.Config{Name: "order", Version: "1.0.0", Logger: log},
//		endpoint.New("order.place", h.place),
//		endpoint.New("order.get", h.get),
//	)
//	…
//	defer srv.Stop()
//
// Before a handler sees a request, Decode has checked its size (64 KiB),
// decoded it strictly (one JSON object, no unknown or duplicate fields,
// valid UTF-8, right types) and called its Validate method. The handler
// returns the reply value, or an error: an *Error (Invalid, NotFound,
// Conflict, or one wrapping it) is the reply; anything else, and any
// panic, is replied as 500 internal and logged once with its details.
//
// A Server hands each request to a bounded pool of workers, so a handler
// waiting for a bbolt fsync does not hold up the requests behind it.
//
// Clients read these replies with the top-level client package, which
// turns an error reply back into a typed error.
//
// # Caveats
//
// A Server speaks the micro protocol itself (with micro's types) rather than
// through micro.AddService, whose handlers run one at a time per endpoint
// and whose statistics would only see a hand-off to a worker: `nats micro
// stats` shows each endpoint's error replies and the time from a request's
// arrival to its reply.
//
// Error messages are echoed to clients and put in a NATS header, so they
// are cleaned (no control characters) and cut at 1 KiB. A field name that
// is not a plain identifier is quoted.
package endpoint
