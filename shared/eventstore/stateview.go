package eventstore

import (
	"encoding/json"

	"github.com/choreo-dev/choreo/shared/envelope"
)

// StateView is a projection that keeps, for every aggregate of one type, a
// JSON view of its current state in a bucket keyed by aggregate id. It is the
// common shape of a query model: "the wallet's balance", "the SKU's stock".
// View maps the state to what is stored; returning ok=false removes the
// entry (an aggregate that should not be visible yet).
func StateView[S any](a Aggregate[S], bucket string, view func(s S, version uint64, e envelope.Envelope) (v any, ok bool)) Projection {
	return stateView[S]{a: a, bucket: bucket, view: view}
}

type stateView[S any] struct {
	a      Aggregate[S]
	bucket string
	view   func(S, uint64, envelope.Envelope) (any, bool)
}

func (p stateView[S]) Buckets() []string { return []string{p.bucket} }

func (p stateView[S]) Apply(tx *Tx, e envelope.Envelope, _ envelope.Event) error {
	if e.AggregateType != p.a.Type {
		return nil
	}
	s, version, err := Load(tx, p.a, e.AggregateID)
	if err != nil {
		return err
	}
	b := tx.ViewBucket(p.bucket)
	v, ok := p.view(s, version, e)
	if !ok {
		return b.Delete([]byte(e.AggregateID))
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(e.AggregateID), raw)
}

// GetView reads one entry of a view bucket into v; ok is false if absent.
func GetView(tx *Tx, bucket, id string, v any) (ok bool, err error) {
	raw := tx.ViewBucket(bucket).Get([]byte(id))
	if raw == nil {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}
