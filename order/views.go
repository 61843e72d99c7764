package order

import (
	"encoding/binary"
	"encoding/json"
	"time"

	"github.com/choreo-dev/choreo/client"
	"github.com/choreo-dev/choreo/order/domain"
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventstore"
)

// The views' buckets.
const (
	bucketOrders     = "orders"             // order id -> client.OrderView JSON
	bucketByTime     = "orders_by_time"     // placed at (8) order id -> nil: newest first by reverse scan
	bucketByCustomer = "orders_by_customer" // customer id 0x00 placed at (8) order id -> nil
	bucketDeadlines  = "deadlines"          // deadline (8) order id -> nil, for open orders only
)

// views keeps the order views and the indexes behind order.list and the
// deadline scheduler, in the transaction that appends each order event.
type views struct{}

func (views) Buckets() []string {
	return []string{bucketOrders, bucketByTime, bucketByCustomer, bucketDeadlines}
}

func (views) Apply(tx *eventstore.Tx, e envelope.Envelope, ev envelope.Event) error {
	if e.AggregateType != domain.OrderAggregate {
		return nil
	}
	// The state after this event: the events are already in the transaction.
	o, version, err := eventstore.Load(tx, orderAgg, e.AggregateID)
	if err != nil {
		return err
	}
	v := client.OrderView{
		OrderID: o.OrderID, CustomerID: o.CustomerID, Items: o.Items, TotalCents: o.TotalCents,
		Currency: o.Currency, ShippingAddress: o.ShippingAddress, Status: o.Status,
		CancelReason: o.CancelReason, Steps: client.Steps(o.Steps), Version: version,
		CreatedAt: o.PlacedAt, UpdatedAt: e.OccurredAt,
	}
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	id := []byte(o.OrderID)
	if err := tx.Bucket(bucketOrders).Put(id, body); err != nil {
		return err
	}
	// The indexes change only when the order opens and when it ends: a Put
	// of an unchanged key would still rewrite its page at commit.
	deadline := timeKey(o.Deadline, id)
	switch {
	case isPlaced(ev):
		placed := timeKey(o.PlacedAt, id)
		if err := tx.Bucket(bucketByTime).Put(placed, nil); err != nil {
			return err
		}
		if err := tx.Bucket(bucketByCustomer).Put(append(append([]byte(o.CustomerID), 0), placed...), nil); err != nil {
			return err
		}
		if !o.Terminal() {
			return tx.Bucket(bucketDeadlines).Put(deadline, nil)
		}
	case o.Terminal() && isTerminal(ev):
		return tx.Bucket(bucketDeadlines).Delete(deadline)
	}
	return nil
}

func isPlaced(ev envelope.Event) bool {
	_, ok := ev.(orderevents.OrderPlaced)
	return ok
}

func isTerminal(ev envelope.Event) bool {
	switch ev.(type) {
	case orderevents.OrderCompleted, orderevents.OrderCancelled:
		return true
	}
	return false
}

// timeKey sorts by time, then id. Times before 1970 do not occur here.
func timeKey(t time.Time, id []byte) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(id)), uint64(t.UnixNano()))
	return append(k, id...)
}

// getView reads one order view; ok is false if there is none.
func getView(tx *eventstore.Tx, orderID string) (v client.OrderView, ok bool, err error) {
	ok, err = eventstore.GetView(tx, bucketOrders, orderID, &v)
	return v, ok, err
}

// listViews returns up to limit views, newest first, of one customer if
// customerID is set, with the given status if status is set.
func listViews(tx *eventstore.Tx, customerID, status string, limit int) ([]client.OrderView, error) {
	out := []client.OrderView{}
	var idx []byte
	var prefix []byte
	if customerID != "" {
		idx, prefix = []byte(bucketByCustomer), append([]byte(customerID), 0)
	} else {
		idx = []byte(bucketByTime)
	}
	b := tx.Bucket(string(idx))
	if b == nil {
		return out, nil
	}
	c := b.Cursor()
	var k []byte
	if prefix != nil {
		// Seek past the customer's keys, then walk back.
		after := append(append([]byte{}, prefix[:len(prefix)-1]...), 1)
		if k, _ = c.Seek(after); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
	} else {
		k, _ = c.Last()
	}
	for ; k != nil && len(out) < limit; k, _ = c.Prev() {
		if prefix != nil {
			if len(k) < len(prefix)+8 || string(k[:len(prefix)]) != string(prefix) {
				break
			}
			k = k[len(prefix):]
		}
		v, ok, err := getView(tx, string(k[8:]))
		if err != nil {
			return nil, err
		}
		if ok && (status == "" || v.Status == status) {
			out = append(out, v)
		}
	}
	return out, nil
}

// dueOrders returns the ids of open orders whose deadline is not after now,
// and the next deadline after now (zero if none).
func dueOrders(tx *eventstore.Tx, now time.Time, limit int) ([]string, time.Time) {
	b := tx.Bucket(bucketDeadlines)
	if b == nil {
		return nil, time.Time{}
	}
	var due []string
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		at := time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])))
		if at.After(now) || len(due) >= limit {
			return due, at
		}
		due = append(due, string(k[8:]))
	}
	return due, time.Time{}
}
