// Package saga declares a service's part in a choreographed saga as data:
// the events it publishes and what each means to the saga, the events it
// reacts to with the handler for each and the events that handler may emit,
// and for each effect the event that compensates it.
//
// A service writes its declaration in one file that reads like the
// contract's saga table (payment/saga.go, say). Everything else is derived
// from it, never typed twice: the durable consumers and their filter
// subjects, the dispatch of each delivered event to its handler, the runtime
// check that a handler emits only what it declared, and — from all the
// services' declarations together — the saga's consistency check ([Check])
// and its diagram ([Mermaid]).
package saga

import (
	"context"
	"fmt"
	"slices"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/streams"
)

// Role is what a published event means to the saga.
type Role string

// The roles. The check (see Check) relies on them.
const (
	// Start opens a saga (an order placed).
	Start Role = "start"
	// Step records progress that takes nothing that must be given back (an
	// order marked paid).
	Step Role = "step"
	// Effect takes something a cancellation must give back: money, stock,
	// a shipment. It names its compensation.
	Effect Role = "effect"
	// Failure says a step could not be taken; it must lead to a Cancel.
	Failure Role = "failure"
	// Compensation gives back what an Effect took.
	Compensation Role = "compensation"
	// Cancel ends a saga unsuccessfully; every service that took an effect
	// compensates on hearing it.
	Cancel Role = "cancel"
	// Complete ends a saga successfully.
	Complete Role = "complete"
	// Outside is an event that belongs to no saga (a deposit, a restock).
	Outside Role = "outside"
)

var roles = []Role{Start, Step, Effect, Failure, Compensation, Cancel, Complete, Outside}

// Event declares one event type a service publishes.
type Event struct {
	Type string `json:"type"`
	Role Role   `json:"role"`
	// CompensatedBy names the Compensation event that gives back what this
	// Effect took.
	CompensatedBy string `json:"compensated_by,omitempty"`
	// Terminal says no service needs to hear the event: it is a record for
	// clients (an order completed, a deposit). Every other published event
	// must have a reaction somewhere.
	Terminal bool `json:"terminal,omitempty"`
}

// EventOption adjusts a published event's declaration.
type EventOption func(*Event)

// CompensatedBy names the event that compensates an Effect.
func CompensatedBy(compensation envelope.Event) EventOption {
	return func(e *Event) { e.CompensatedBy = compensation.EventType() }
}

// Terminal marks an event that no service needs to hear.
func Terminal() EventOption {
	return func(e *Event) { e.Terminal = true }
}

// Publishes declares that the service publishes events of T's type in the
// given role.
func Publishes[T envelope.Event](role Role, opts ...EventOption) Event {
	var zero T
	e := Event{Type: zero.EventType(), Role: role}
	for _, opt := range opts {
		opt(&e)
	}
	return e
}

// Handler applies one event's effects inside the consumer's transaction:
// it loads aggregates through tx, decides, and saves. It must change the
// store only through tx.
type Handler[T envelope.Event] func(ctx context.Context, tx *eventstore.Tx, env envelope.Envelope, e T) error

// Reaction is one row of a service's part of the saga table: on an event of
// type On, run the handler, which may emit the events Emits names.
type Reaction struct {
	On    string
	Emits []string
	// Route says which partition of a partitioned service handles an event
	// (see Route).
	Route Route
	// handle decodes nothing: the consumer hands it the registry's value.
	handle func(ctx context.Context, tx *eventstore.Tx, env envelope.Envelope, ev envelope.Event) error
	keys   func(envelope.Event) []string
}

// Route says which partition of a partitioned service (package partition)
// handles an event. Unpartitioned, every route is the same: the one
// instance handles everything.
type Route string

const (
	// BySaga, the default: the partition that owns the event's saga (its
	// order), the id token of its subject. The stream delivers each
	// partition only its share.
	BySaga Route = "saga"
	// ByKeys: the partitions that own one of the keys the reaction names
	// (OnKeyed): a customer, the SKUs of an order. Every partition is
	// delivered the event and the others let it pass untouched.
	ByKeys Route = "keys"
	// ToAll: every partition handles it (ToAll).
	ToAll Route = "all"
)

// On declares a reaction to events of T's type. emits are zero values of the
// event types the handler may append (the runtime refuses any other).
func On[T envelope.Event](h Handler[T], emits ...envelope.Event) Reaction {
	var zero T
	r := Reaction{On: zero.EventType(), Route: BySaga}
	for _, e := range emits {
		r.Emits = append(r.Emits, e.EventType())
	}
	r.handle = func(ctx context.Context, tx *eventstore.Tx, env envelope.Envelope, ev envelope.Event) error {
		e, ok := ev.(T)
		if !ok {
			return fmt.Errorf("saga: %s handler got a %T", r.On, ev)
		}
		return h(ctx, tx, env, e)
	}
	return r
}

// OnKeyed declares a reaction to events of T's type that a partitioned
// service routes by the keys the event names (ByKeys): its customer, say,
// or the SKUs of its lines. An event that names no key is handled by every
// partition.
func OnKeyed[T envelope.Event](h Handler[T], keys func(T) []string, emits ...envelope.Event) Reaction {
	r := On(h, emits...)
	r.Route = ByKeys
	r.keys = func(ev envelope.Event) []string {
		if e, ok := ev.(T); ok {
			return keys(e)
		}
		return nil
	}
	return r
}

// ToAll makes the reaction run in every partition of a partitioned service.
func (r Reaction) ToAll() Reaction {
	r.Route, r.keys = ToAll, nil
	return r
}

// Accepts reports whether partition p handles ev: always, unless the
// reaction is routed by keys and p owns none of ev's.
func (r Reaction) Accepts(p partition.Partition, ev envelope.Event) bool {
	if !p.Partitioned() || r.Route != ByKeys {
		return true
	}
	keys := r.keys(ev)
	return len(keys) == 0 || p.OwnsAny(keys)
}

// Handle runs the reaction's handler for ev and then checks that it appended
// only events it declared it emits: a handler that publishes something the
// declaration does not say is a bug the saga check cannot see.
func (r Reaction) Handle(ctx context.Context, tx *eventstore.Tx, env envelope.Envelope, ev envelope.Event, reg *envelope.Registry) error {
	before := len(tx.Appended())
	if err := r.handle(ctx, tx, env, ev); err != nil {
		return err
	}
	for _, typ := range tx.Appended()[before:] {
		if reg.Publisher(typ) != "" && !slices.Contains(r.Emits, typ) {
			return fmt.Errorf("saga: the reaction to %s emitted %s, which it does not declare: %w", r.On, typ, ErrUndeclared)
		}
	}
	return nil
}

// Service is a service's declaration: its name (which names its stream,
// its subjects and its durable consumers), the events it publishes and its
// reactions.
type Service struct {
	Name      string
	Publishes []Event
	Reactions []Reaction
}

// Reaction returns the reaction to an event type.
func (s Service) Reaction(eventType string) (Reaction, bool) {
	for _, r := range s.Reactions {
		if r.On == eventType {
			return r, true
		}
	}
	return Reaction{}, false
}

// Validate checks the declaration on its own and against the service's
// registry: every published type is registered as this service's public
// event, every reaction's type is registered as another service's (or this
// one's) public event, no type is declared twice, and roles are known.
func (s Service) Validate(reg *envelope.Registry) error {
	var p problems
	if s.Name == "" {
		p.add("saga: a service declaration needs a Name")
	}
	seen := map[string]bool{}
	for _, e := range s.Publishes {
		switch {
		case seen[e.Type]:
			p.add("%s: %s is declared twice", s.Name, e.Type)
		case !slices.Contains(roles, e.Role):
			p.add("%s: %s has unknown role %q", s.Name, e.Type, e.Role)
		case reg.Publisher(e.Type) != s.Name:
			p.add("%s: publishes %s, but its registry does not register it as %s's public event", s.Name, e.Type, s.Name)
		}
		seen[e.Type] = true
		if e.CompensatedBy != "" && e.Role != Effect {
			p.add("%s: %s names a compensation but is not an effect", s.Name, e.Type)
		}
	}
	for _, typ := range reg.Types() {
		if reg.Publisher(typ) == s.Name && !seen[typ] {
			p.add("%s: its registry registers %s as its public event, but the declaration does not say it publishes it", s.Name, typ)
		}
	}
	on := map[string]bool{}
	for _, r := range s.Reactions {
		if on[r.On] {
			p.add("%s: reacts to %s twice", s.Name, r.On)
		}
		on[r.On] = true
		if reg.Publisher(r.On) == "" {
			p.add("%s: reacts to %s, which its registry does not know as a public event", s.Name, r.On)
		}
		for _, typ := range r.Emits {
			if !seen[typ] {
				p.add("%s: the reaction to %s emits %s, which %s does not declare it publishes", s.Name, r.On, typ, s.Name)
			}
		}
	}
	return p.err()
}

// Describe returns the declaration as data, with the publisher of each event
// a reaction hears looked up in the registry.
func (s Service) Describe(reg *envelope.Registry) Description {
	d := Description{Service: s.Name, Publishes: slices.Clone(s.Publishes)}
	for _, r := range s.Reactions {
		d.Reactions = append(d.Reactions, ReactionInfo{On: r.On, From: reg.Publisher(r.On), Emits: slices.Clone(r.Emits), Route: r.Route})
	}
	return d
}

// Description is a service's declaration without its handlers: what the
// saga check, the diagram, provisioning and `-describe` work from.
type Description struct {
	Service   string         `json:"service"`
	Publishes []Event        `json:"publishes"`
	Reactions []ReactionInfo `json:"reactions"`
}

// ReactionInfo is a reaction as data: on an event of type On, published by
// From, the service may emit Emits.
type ReactionInfo struct {
	On    string   `json:"on"`
	From  string   `json:"from"`
	Emits []string `json:"emits"`
	Route Route    `json:"route,omitempty"`
}

// Sources returns, for each service whose events this one hears, the event
// types it hears from it, in declaration order: one durable consumer each.
func (d Description) Sources() []Source {
	var out []Source
	for _, r := range d.Reactions {
		i := slices.IndexFunc(out, func(s Source) bool { return s.Service == r.From })
		if i < 0 {
			out = append(out, Source{Service: r.From})
			i = len(out) - 1
		}
		out[i].Types = append(out[i].Types, r.On)
		route := r.Route
		if route == "" {
			route = BySaga
		}
		out[i].Routes = append(out[i].Routes, route)
	}
	return out
}

// Source is a service whose events another hears, and which of them.
type Source struct {
	Service string
	Types   []string
	Routes  []Route // Routes[i] is how Types[i] is routed
}

// Filters are the consumer filter subjects of a source for partition p of
// the hearing service: a type routed by its saga is filtered to p's share
// of a partitioned stream; every other type (and every type, unpartitioned)
// to all of it.
func (s Source) Filters(p partition.Partition) []string {
	out := make([]string, len(s.Types))
	for i, t := range s.Types {
		if p.Partitioned() && s.Routes[i] == BySaga {
			out[i] = streams.PartitionFilter(s.Service, t, p.Index)
		} else {
			out[i] = streams.Filter(s.Service, t)
		}
	}
	return out
}
