// Package console is Choreo's web console for operators: what a workflow
// engine's web UI gives an orchestrated workflow, for a choreographed saga.
// `choreo console` serves it (loopback, port 8080 by default).
//
// # Pages
//
//   - Overview: each service's readiness (its /readyz, with the failing
//     checks' reasons), sagas per second and their outcomes over the last
//     minutes, each durable consumer's backlog, each outbox's depth, the
//     dead letters — and, on top, in words, what is wrong: a service not
//     ready, a backlog that grows, new dead letters, a hot order's events
//     set aside.
//   - Sagas: the orders, newest first, by status, customer or stuck (the
//     logic of choreo stuck, client.Stuck), and a search by order id.
//   - One saga: its timeline as swimlanes, one lane per service, an arrow
//     from each event to the one that caused it; the order, its payment,
//     its SKUs' stock, its shipment; where the saga waits, in words, and
//     whether every compensation is done.
//   - Dead letters: the DLQ, each letter's headers and body, redrive and
//     purge after a confirmation (package client/dlq, as choreo dlq).
//
// Every page is live: the server pushes the overview and the orders whose
// events went by over server-sent events (/api/events), and the page
// updates what changed.
//
// # What it reads
//
// Only the public contract: the requests of package client, JetStream's
// stream and consumer info, the DLQ stream, each service's events as they
// are published, and the services' HTTP endpoints (/readyz, /metrics). It
// never opens a service's store. A part that cannot be read says so
// ("payment unavailable: no service answers") and the rest of the page
// works.
//
// # Safety
//
// The server listens on loopback unless told otherwise and answers only
// requests whose Host is its own (no DNS rebinding). A GET never changes
// anything; the two actions that do (redrive, purge) are POSTs that must
// carry the page's per-process token and come from the console's own
// origin (Origin, Sec-Fetch-Site). Pages are html/template; the script
// builds the DOM with textContent, never HTML from data. The Content
// Security Policy allows no inline script and no framing. Every list and
// body is bounded.
package console
