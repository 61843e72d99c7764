package natsauth

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/choreo-dev/choreo/shared/consumer"
	"github.com/choreo-dev/choreo/shared/natscreds"
	"github.com/choreo-dev/choreo/shared/partition"
	"github.com/choreo-dev/choreo/shared/saga"
	"github.com/choreo-dev/choreo/shared/service"
	"github.com/choreo-dev/choreo/shared/streams"
)

// Kind is what an identity is for.
type Kind string

// The kinds of identity.
const (
	// KindService is one service: its own events, its own durables, its
	// own endpoints.
	KindService Kind = "service"
	// KindClient makes the contract's requests and reads their replies.
	KindClient Kind = "client"
	// KindObserver reads events and the state of streams and consumers
	// (choreo watch, a web console), and changes nothing.
	KindObserver Kind = "observer"
	// KindAdmin provisions streams and durables and acts on dead letters
	// and parked outbox entries.
	KindAdmin Kind = "admin"
	// KindConsole is the web console (choreo console): it reads what an
	// operator looks at — the contract's queries, the streams' and durables'
	// state, events as they go by, dead letters — and changes nothing but
	// dead letters, which it redrives or purges.
	KindConsole Kind = "console"
)

// The identities that are not services, by name.
const (
	Client   = "client"
	Observer = "observer"
	Admin    = "admin"
	Console  = "console"
)

// Grant is one subject an identity may publish or subscribe to, and why.
type Grant struct {
	Subject string
	Why     string
}

// Identity is one NATS user of the secure profile and what it may do.
// Anything not granted is denied.
type Identity struct {
	Name      string
	Kind      Kind
	Publish   []Grant
	Subscribe []Grant
	// AllowResponses lets it publish one reply to each request it
	// received, on the reply subject that request named, and nowhere else:
	// how a service answers a client without being allowed to publish to
	// the client's inbox.
	AllowResponses bool
}

// InboxPrefix is the identity's inbox prefix (natscreds.InboxPrefix).
func (id Identity) InboxPrefix() string { return natscreds.InboxPrefix(id.Name) }

// Platform is what the identities are derived from.
type Platform struct {
	// Services are the services' declarations (their -describe), in the
	// Procfile's order: one identity each, named after the service.
	Services []saga.Description
	// Requests are the contract's request subjects (client.Requests): the
	// client identity's, with each service's <service>.schemas.
	Requests []string
	// Queries are those of Requests that change nothing (client.Queries):
	// the console identity's.
	Queries []string
}

// Validate reports every problem with p at once.
func (p Platform) Validate() error {
	var errs []error
	if len(p.Services) == 0 {
		errs = append(errs, errors.New("natsauth: no services"))
	}
	seen := map[string]bool{}
	for i, d := range p.Services {
		switch {
		case !natscreds.ValidName(d.Service):
			errs = append(errs, fmt.Errorf("natsauth: Services[%d]: service name %q is not a subject token", i, d.Service))
		case d.Service == Client || d.Service == Observer || d.Service == Admin || d.Service == Console:
			errs = append(errs, fmt.Errorf("natsauth: Services[%d]: a service may not be called %q, an identity of its own", i, d.Service))
		case seen[d.Service]:
			errs = append(errs, fmt.Errorf("natsauth: Services[%d]: %s twice", i, d.Service))
		}
		seen[d.Service] = true
		if len(d.Publishes) == 0 {
			errs = append(errs, fmt.Errorf("natsauth: Services[%d]: %s publishes nothing", i, d.Service))
		}
	}
	if len(p.Requests) == 0 {
		errs = append(errs, errors.New("natsauth: no Requests for the client identity"))
	}
	for i, r := range p.Requests {
		if r == "" || strings.ContainsAny(r, "*> \t") {
			errs = append(errs, fmt.Errorf("natsauth: Requests[%d]: %q is not a literal subject", i, r))
		}
	}
	if len(p.Queries) == 0 {
		errs = append(errs, errors.New("natsauth: no Queries for the console identity"))
	}
	for i, q := range p.Queries {
		if !slices.Contains(p.Requests, q) {
			errs = append(errs, fmt.Errorf("natsauth: Queries[%d]: %q is not one of Requests", i, q))
		}
	}
	return errors.Join(errs...)
}

// Identities derives every identity of the secure profile from the
// services' declarations and the contract's requests: one per service, in
// p's order, then client, observer, console and admin. Nothing in them is typed by
// hand: a service's events, durables and streams come from its declaration
// through the functions the services themselves use (consumer.For,
// streams.Name, streams.Filter), so adding an event type or a reaction
// changes the permissions with it.
func Identities(p Platform) ([]Identity, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var out []Identity
	for _, d := range p.Services {
		out = append(out, serviceIdentity(d))
	}
	return append(out, clientIdentity(p), observerIdentity(p), consoleIdentity(p), adminIdentity(p)), nil
}

const (
	jsAPI = "$JS.API."
	jsAck = "$JS.ACK."
)

func serviceIdentity(d saga.Description) Identity {
	svc := d.Service
	id := Identity{Name: svc, Kind: KindService, AllowResponses: true}
	pub := func(subject, why string) { id.Publish = append(id.Publish, Grant{subject, why}) }
	sub := func(subject, why string) { id.Subscribe = append(id.Subscribe, Grant{subject, why}) }
	own := streams.Name(svc)
	for _, e := range d.Publishes {
		pub(streams.Filter(svc, e.Type), "its "+e.Type+" events, into "+own+" (outbox relay: async and atomic-batch publishes, the batch commit a request)")
	}
	pub(streams.DeadLetterSubject(svc, ">"), "its dead letters, into "+streams.DLQ)
	need := []string{own}
	for _, cc := range consumer.For(d, partition.Whole) {
		durable := cc.ConsumerConfig().Durable
		pub(jsAPI+"CONSUMER.MSG.NEXT."+cc.Stream+"."+durable, "pull from its durable "+durable+" on "+cc.Stream)
		pub(jsAck+cc.Stream+"."+durable+".>", "ack, nak, term and mark in progress what that durable delivered")
		pub(jsAPI+"CONSUMER.INFO."+cc.Stream+"."+durable, "look that durable up (bind, and notice it is gone)")
		if !slices.Contains(need, cc.Stream) {
			need = append(need, cc.Stream)
		}
	}
	need = append(need, streams.DLQ)
	for _, s := range need {
		why := "check that " + s + " exists"
		if s == own {
			why += " and when it was created (a re-created stream gets the recent events again)"
		}
		pub(jsAPI+"STREAM.INFO."+s, why)
	}
	sub(svc+".*", "serve its endpoints: the contract's requests, "+svc+".schemas and the parked-outbox endpoints")
	sub("$SRV.*", "answer micro discovery of every service (PING, INFO, STATS)")
	sub("$SRV.*."+svc, "answer micro discovery of "+svc)
	sub("$SRV.*."+svc+".>", "answer micro discovery of this instance")
	sub(natscreds.InboxPrefix(svc)+".>", "its replies: PubAcks, JetStream API answers, the messages its durables deliver")
	return id
}

func clientIdentity(p Platform) Identity {
	id := Identity{Name: Client, Kind: KindClient}
	for _, r := range p.Requests {
		id.Publish = append(id.Publish, Grant{r, "the contract's request"})
	}
	for _, d := range p.Services {
		id.Publish = append(id.Publish, Grant{d.Service + ".schemas", "the JSON Schemas of " + d.Service + "'s events"})
	}
	id.Subscribe = append(id.Subscribe, Grant{natscreds.InboxPrefix(Client) + ".>", "its replies"})
	return id
}

// eventStreams are every service's stream, then the DLQ.
func eventStreams(p Platform) []string {
	var out []string
	for _, d := range p.Services {
		out = append(out, streams.Name(d.Service))
	}
	return append(out, streams.DLQ)
}

// readGrants are the read-only JetStream API requests on the platform's
// streams and their consumers: what observer and admin both may do.
func readGrants(p Platform) []Grant {
	g := []Grant{
		{jsAPI + "INFO", "account information (is JetStream there)"},
		{jsAPI + "STREAM.NAMES", "list the streams"},
		{jsAPI + "STREAM.LIST", "list the streams with their state"},
	}
	for _, s := range eventStreams(p) {
		g = append(g,
			Grant{jsAPI + "STREAM.INFO." + s, "the state of " + s},
			Grant{jsAPI + "STREAM.MSG.GET." + s, "read a message of " + s + " by sequence or subject"},
			Grant{jsAPI + "DIRECT.GET." + s, "read a message of " + s + " (direct get)"},
			Grant{jsAPI + "DIRECT.GET." + s + ".>", "read the last message of a subject of " + s + " (direct get)"},
			Grant{jsAPI + "CONSUMER.NAMES." + s, "list the consumers of " + s},
			Grant{jsAPI + "CONSUMER.LIST." + s, "list the consumers of " + s + " with their state"},
			Grant{jsAPI + "CONSUMER.INFO." + s + ".*", "the state of a consumer of " + s},
		)
	}
	return g
}

func observerIdentity(p Platform) Identity {
	id := Identity{Name: Observer, Kind: KindObserver}
	id.Publish = append(readGrants(p), Grant{"$SRV.>", "discover the services and their stats (nats micro ls, stats)"})
	id.Subscribe = []Grant{
		{"*.events.>", "watch events as they are published (choreo watch)"},
		{natscreds.InboxPrefix(Observer) + ".>", "its replies"},
	}
	return id
}

// consoleIdentity is the web console's: the queries, the state of the
// streams and their durables, each service's events as they are published,
// and the dead letters — read, redriven (a republish on the original
// subject, then a delete) and purged (a delete). It creates, changes and
// deletes no stream and no consumer, and makes no command.
func consoleIdentity(p Platform) Identity {
	id := Identity{Name: Console, Kind: KindConsole}
	pub := func(subject, why string) { id.Publish = append(id.Publish, Grant{subject, why}) }
	for _, q := range p.Queries {
		pub(q, "the contract's query (it changes nothing)")
	}
	pub(jsAPI+"STREAM.LIST", "list the streams with their state (the overview)")
	for _, d := range p.Services {
		s := streams.Name(d.Service)
		pub(jsAPI+"STREAM.INFO."+s, "the state of "+s)
		pub(jsAPI+"CONSUMER.LIST."+s, "the durables of "+s+" with their backlog (consumer lag)")
	}
	pub(jsAPI+"STREAM.INFO."+streams.DLQ, "the state of the DLQ; count the dead letters by service")
	pub(jsAPI+"STREAM.MSG.GET."+streams.DLQ, "read a dead letter")
	pub(jsAPI+"STREAM.MSG.DELETE."+streams.DLQ, "delete a dead letter once redriven, or purge it")
	for _, d := range p.Services {
		pub(streams.Subjects(d.Service), "redrive a dead letter: republish a "+d.Service+" event on its original subject")
	}
	for _, d := range p.Services {
		id.Subscribe = append(id.Subscribe, Grant{streams.Subjects(d.Service), "see " + d.Service + "'s events as they are published (live pages, sagas per second)"})
	}
	id.Subscribe = append(id.Subscribe, Grant{natscreds.InboxPrefix(Console) + ".>", "its replies"})
	return id
}

func adminIdentity(p Platform) Identity {
	id := Identity{Name: Admin, Kind: KindAdmin}
	pub := func(subject, why string) { id.Publish = append(id.Publish, Grant{subject, why}) }
	for _, s := range eventStreams(p) {
		pub(jsAPI+"STREAM.CREATE."+s, "provision "+s)
		pub(jsAPI+"STREAM.UPDATE."+s, "provision "+s+" (a changed configuration)")
	}
	for _, d := range p.Services {
		for _, cc := range consumer.For(d, partition.Whole) {
			durable := cc.ConsumerConfig().Durable
			why := "provision the durable " + durable + " on " + cc.Stream + " (create or update)"
			pub(jsAPI+"CONSUMER.CREATE."+cc.Stream+"."+durable, why)
			pub(jsAPI+"CONSUMER.CREATE."+cc.Stream+"."+durable+".>", why+", with its filter subject")
		}
	}
	id.Publish = append(id.Publish, readGrants(p)...)
	pub(jsAPI+"STREAM.MSG.DELETE."+streams.DLQ, "delete a dead letter (choreo dlq redrive, purge)")
	pub(jsAPI+"STREAM.PURGE."+streams.DLQ, "purge dead letters")
	for _, d := range p.Services {
		pub(streams.Subjects(d.Service), "redrive a dead letter: republish a "+d.Service+" event on its original subject (choreo dlq redrive)")
	}
	for _, d := range p.Services {
		for _, s := range service.ParkedSubjects(d.Service) {
			pub(s, "the parked outbox of "+d.Service)
		}
	}
	pub("$SRV.>", "discover the services")
	id.Subscribe = []Grant{{natscreds.InboxPrefix(Admin) + ".>", "its replies"}}
	return id
}
