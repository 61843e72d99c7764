package envelope

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
)

// Upcaster turns the data of one schema version into the data of the next.
// It works on raw JSON so that old Go types need not be kept around.
type Upcaster func(data json.RawMessage) (json.RawMessage, error)

type entry struct {
	typ       reflect.Type
	version   int
	upcasters []Upcaster // upcasters[i] takes version i+1 to version i+2
	publisher string     // the service whose stream carries it; "" if private
}

// Registry knows the event types a service reads or writes. It is built once
// at start-up and only read afterwards, so it needs no lock.
type Registry struct {
	types map[string]entry
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{types: map[string]entry{}} }

// Register adds the private event type T at schema version
// len(upcasters)+1: the service that stores it keeps it in its own log and
// never publishes it. upcasters[0] turns version 1 data into version 2, and so
// on. Registering a type twice panics: it is a programming error found at
// start-up.
func Register[T Event](r *Registry, upcasters ...Upcaster) {
	register[T](r, "", upcasters)
}

// RegisterPublic adds the event type T as one that publisher publishes on its
// stream ("<publisher>.events.<Type>.<aggregate id>"). Only publisher's own
// store may append it; every other service only reads it.
func RegisterPublic[T Event](r *Registry, publisher string, upcasters ...Upcaster) {
	if publisher == "" {
		panic("envelope: RegisterPublic needs the publishing service")
	}
	register[T](r, publisher, upcasters)
}

func register[T Event](r *Registry, publisher string, upcasters []Upcaster) {
	var zero T
	name := zero.EventType()
	if _, ok := r.types[name]; ok {
		panic("envelope: event type registered twice: " + name)
	}
	r.types[name] = entry{typ: reflect.TypeFor[T](), version: len(upcasters) + 1, upcasters: upcasters, publisher: publisher}
}

// Merge adds every type of other to r; types both know must not clash.
func (r *Registry) Merge(other *Registry) {
	for name, e := range other.types {
		if _, ok := r.types[name]; ok {
			panic("envelope: event type registered twice: " + name)
		}
		r.types[name] = e
	}
}

// Knows reports whether the event type is registered.
func (r *Registry) Knows(eventType string) bool {
	_, ok := r.types[eventType]
	return ok
}

// Publisher returns the service that publishes a public event type, and ""
// for a private or unknown one.
func (r *Registry) Publisher(eventType string) string { return r.types[eventType].publisher }

// Types returns every registered event type name, sorted.
func (r *Registry) Types() []string {
	names := make([]string, 0, len(r.types))
	for n := range r.types {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// GoType returns the Go type registered for an event type, nil if unknown.
func (r *Registry) GoType(eventType string) reflect.Type { return r.types[eventType].typ }

// SchemaVersion returns the current schema version of a registered type, or 0.
func (r *Registry) SchemaVersion(eventType string) int { return r.types[eventType].version }

// Decode returns the envelope's data as the registered Go type (a value, not a
// pointer), upcasting it first if it was stored under an older schema.
func (r *Registry) Decode(e Envelope) (Event, error) {
	ent, ok := r.types[e.Type]
	if !ok {
		return nil, fmt.Errorf("decode %s: %w", e.Type, ErrUnknownType)
	}
	if e.SchemaVersion > ent.version || e.SchemaVersion < 1 {
		return nil, fmt.Errorf("decode %s v%d (current v%d): %w", e.Type, e.SchemaVersion, ent.version, ErrSchemaVersion)
	}
	data := e.Data
	for v := e.SchemaVersion; v < ent.version; v++ {
		var err error
		if data, err = ent.upcasters[v-1](data); err != nil {
			return nil, fmt.Errorf("upcast %s v%d: %w", e.Type, v, err)
		}
	}
	ptr := reflect.New(ent.typ)
	if err := json.Unmarshal(data, ptr.Interface()); err != nil {
		return nil, fmt.Errorf("decode %s: %w: %v", e.Type, ErrInvalid, err)
	}
	return ptr.Elem().Interface().(Event), nil
}
