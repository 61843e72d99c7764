package service

import (
	"context"
	"encoding/json"

	"github.com/choreo-dev/choreo/shared/endpoint"
	"github.com/choreo-dev/choreo/shared/eventstore"
)

// The contract's queries by one identifier.
type (
	// ByOrderID is {"order_id"}.
	ByOrderID struct {
		OrderID string `json:"order_id"`
	}
	// ByCustomerID is {"customer_id"}.
	ByCustomerID struct {
		CustomerID string `json:"customer_id"`
	}
	// BySKU is {"sku"}.
	BySKU struct {
		SKU string `json:"sku"`
	}
)

// Key returns the request's field name and identifier.
func (r *ByOrderID) Key() (field, id string)    { return "order_id", r.OrderID }
func (r *ByCustomerID) Key() (field, id string) { return "customer_id", r.CustomerID }
func (r *BySKU) Key() (field, id string)        { return "sku", r.SKU }

// Validate checks the identifier against the contract's pattern.
func (r *ByOrderID) Validate() error    { return validateKey(r) }
func (r *ByCustomerID) Validate() error { return validateKey(r) }
func (r *BySKU) Validate() error        { return validateKey(r) }

func validateKey(r interface{ Key() (string, string) }) error {
	var p endpoint.Problems
	p.ID(r.Key())
	return p.Err()
}

// ViewQuery answers a query by identifier from one entry of a projection
// bucket, holding a V as JSON; a missing entry is a not_found that names the
// field. Queries read projections, never the event log.
func ViewQuery[R any, V any, PR interface {
	*R
	Key() (string, string)
}](st *eventstore.Store, bucket, what string) endpoint.Handler[R] {
	return func(ctx context.Context, r *R) (any, error) {
		field, id := PR(r).Key()
		var v V
		var ok bool
		err := st.View(ctx, func(tx *eventstore.Tx) (err error) {
			ok, err = eventstore.GetView(tx, bucket, id, &v)
			return err
		})
		if err == nil && !ok {
			return nil, endpoint.NotFound("%s %s: %s not found", field, id, what)
		}
		return v, err
	}
}

// First is a Merge (endpoint.Gather) for a query only one partition can
// answer: its answer. The partitions that do not hold what is asked for
// answer 404 and are left out; if none holds it, the 404 is the answer.
func First(_ []byte, replies [][]byte) (any, error) {
	if len(replies) == 0 {
		return nil, endpoint.NotFound("not found")
	}
	return json.RawMessage(replies[0]), nil
}
