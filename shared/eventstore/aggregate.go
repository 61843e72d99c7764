package eventstore

import (
	"encoding/json"
	"fmt"

	"github.com/choreo-dev/choreo/shared/envelope"
)

// Aggregate describes an event-sourced aggregate to the store: its type name
// and its pure evolve function. S must round-trip through JSON (it is
// snapshotted).
type Aggregate[S any] struct {
	// Type is the aggregate type name, e.g. "order".
	Type string
	// New returns the state of an aggregate that has no events.
	New func(id string) S
	// Evolve applies one event. It must be pure and total.
	Evolve func(S, envelope.Event) S
	// SnapshotSchema is bumped whenever S's JSON shape changes, so older
	// snapshots are ignored (and replaced) instead of misread. Default 0.
	SnapshotSchema int
}

type snapshot struct {
	Schema  int             `json:"schema"`
	Version uint64          `json:"version"`
	State   json.RawMessage `json:"state"`
}

// Load returns an aggregate's current state and version: the newest snapshot
// plus the events after it. An aggregate with no events is New(id) at 0.
func Load[S any](tx *Tx, a Aggregate[S], id string) (S, uint64, error) {
	ak := aggKey(a.Type, id)
	key := string(ak)
	current := tx.Version(a.Type, id)
	if e, ok := tx.states[key]; ok && e.version == current {
		if s, ok := e.state.(S); ok {
			return s, current, nil
		}
	}
	if e, ok := tx.s.cache.get(key); ok && e.version == current {
		if s, ok := e.state.(S); ok {
			return s, current, nil
		}
	}
	state := a.New(id)
	var version uint64
	if raw := tx.b.Bucket(bucketSnapshots).Get(ak); raw != nil {
		var snap snapshot
		if err := json.Unmarshal(raw, &snap); err == nil && snap.Schema == a.SnapshotSchema {
			var s S
			if err := json.Unmarshal(snap.State, &s); err == nil {
				state, version = s, snap.Version
			}
		}
	}
	reg := tx.s.opts.Registry
	err := tx.Events(a.Type, id, version, func(e envelope.Envelope) error {
		ev, err := reg.Decode(e)
		if err != nil {
			return fmt.Errorf("load %s/%s v%d: %w", a.Type, id, e.Version, err)
		}
		state = a.Evolve(state, ev)
		version = e.Version
		return nil
	})
	if err != nil {
		var zero S
		return zero, 0, err
	}
	if tx.b.Writable() {
		// This version may include events of this very transaction: the
		// cache takes it only if the transaction commits.
		tx.setState(key, cached{version: version, state: state})
	} else {
		tx.s.cache.put(key, cached{version: version, state: state})
	}
	return state, version, nil
}

// Save appends events to an aggregate that was loaded at version expected
// with state, and stores a snapshot when the new version crosses a multiple
// of SnapshotEvery. It returns the new state and version.
func Save[S any](tx *Tx, a Aggregate[S], id string, state S, expected uint64, meta Meta, events ...envelope.Event) (S, uint64, error) {
	if len(events) == 0 {
		return state, expected, nil
	}
	before := state
	for _, ev := range events {
		state = a.Evolve(state, ev)
	}
	version := expected + uint64(len(events))
	// Known before Append runs the projections, which load the aggregate.
	mark := len(tx.undo)
	tx.setState(string(aggKey(a.Type, id)), cached{version: version, state: state})
	if _, err := tx.Append(a.Type, id, expected, meta, events...); err != nil {
		tx.restoreStates(mark)
		return before, expected, err
	}
	every := tx.s.opts.SnapshotEvery
	if version/every > expected/every {
		if err := writeSnapshot(tx, a, id, state, version); err != nil {
			return state, version, err
		}
	}
	return state, version, nil
}

func writeSnapshot[S any](tx *Tx, a Aggregate[S], id string, state S, version uint64) error {
	raw, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("snapshot %s/%s: %w", a.Type, id, err)
	}
	body, err := json.Marshal(snapshot{Schema: a.SnapshotSchema, Version: version, State: raw})
	if err != nil {
		return fmt.Errorf("snapshot %s/%s: %w", a.Type, id, err)
	}
	tx.wrote()
	return tx.b.Bucket(bucketSnapshots).Put(aggKey(a.Type, id), body)
}

// Update is the usual way to change one aggregate: load it, let decide return
// the events, save them with the loaded version. It returns the new state.
func Update[S any](tx *Tx, a Aggregate[S], id string, meta Meta, decide func(S) ([]envelope.Event, error)) (S, error) {
	state, version, err := Load(tx, a, id)
	if err != nil {
		return state, err
	}
	events, err := decide(state)
	if err != nil {
		return state, err
	}
	state, _, err = Save(tx, a, id, state, version, meta, events...)
	return state, err
}

// Loaded is one aggregate as a transaction loaded it: its state and the
// version that state is at. Its Save appends with that version expected, so
// a reaction that changes several aggregates in one transaction (a wallet
// and a payment, a reservation and its SKUs) loads each, decides, and saves
// each without carrying states and versions around by hand.
type Loaded[S any] struct {
	Aggregate Aggregate[S]
	ID        string
	State     S
	Version   uint64
}

// Get loads an aggregate (see Load).
func Get[S any](tx *Tx, a Aggregate[S], id string) (*Loaded[S], error) {
	s, v, err := Load(tx, a, id)
	if err != nil {
		return nil, err
	}
	return &Loaded[S]{Aggregate: a, ID: id, State: s, Version: v}, nil
}

// Save appends events to the aggregate at the version it was loaded at (see
// Save) and moves l to the new state and version. No events is a no-op.
func (l *Loaded[S]) Save(tx *Tx, meta Meta, events ...envelope.Event) error {
	s, v, err := Save(tx, l.Aggregate, l.ID, l.State, l.Version, meta, events...)
	if err != nil {
		return err
	}
	l.State, l.Version = s, v
	return nil
}
