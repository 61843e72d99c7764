package inventoryevents

import (
	"github.com/choreo-dev/choreo/order/orderevents"
	"github.com/choreo-dev/choreo/shared/endpoint"
)

// The reservation protocol of a partitioned inventory (docs/contract.md,
// section 7). When inventory runs as several partitions, each owning the
// SKUs that hash to it, a multi-line order's lines may belong to several:
// each partition reserves its own lines, all or none, and reports them as a
// part; the order's home partition (the one its order id hashes to) collects
// the parts and publishes the contract's outcome — StockReserved when every
// part is reserved, StockReservationFailed when one failed — and, after a
// cancellation, StockReleased once every reserved part is released. A
// one-partition deployment never publishes these.

// StockPartReserved records that partition Part reserved Items, the order's
// lines it owns.
type StockPartReserved struct {
	OrderID string             `json:"order_id"`
	Part    int                `json:"part"`
	Items   []orderevents.Item `json:"items"`
}

// StockPartFailed records that partition Part could not reserve its lines:
// SKU is the first of them (in item order) whose Available stock is below
// the Requested quantity.
type StockPartFailed struct {
	OrderID   string `json:"order_id"`
	Part      int    `json:"part"`
	SKU       string `json:"sku"`
	Requested int64  `json:"requested"`
	Available int64  `json:"available"`
}

// StockPartReleased records that partition Part gave its reserved lines back
// (the order was cancelled, or another part failed).
type StockPartReleased struct {
	OrderID string             `json:"order_id"`
	Part    int                `json:"part"`
	Items   []orderevents.Item `json:"items"`
}

func (StockPartReserved) EventType() string { return "StockPartReserved" }
func (StockPartFailed) EventType() string   { return "StockPartFailed" }
func (StockPartReleased) EventType() string { return "StockPartReleased" }

// Correlation is the saga the event belongs to: its order.
func (e StockPartReserved) Correlation() string { return e.OrderID }
func (e StockPartFailed) Correlation() string   { return e.OrderID }
func (e StockPartReleased) Correlation() string { return e.OrderID }

// maxParts bounds a part number: far beyond any deployment's partitions.
const maxParts = 4096

// Validate checks a StockPartReserved's order, part and lines.
func (e StockPartReserved) Validate() error {
	var p endpoint.Problems
	p.ID("order_id", e.OrderID)
	p.IntRange("part", int64(e.Part), 0, maxParts)
	orderevents.CheckItems(&p, "items", e.Items)
	return p.Err()
}

// Validate checks a StockPartFailed's order, part and SKU.
func (e StockPartFailed) Validate() error {
	var p endpoint.Problems
	p.ID("order_id", e.OrderID)
	p.IntRange("part", int64(e.Part), 0, maxParts)
	p.ID("sku", e.SKU)
	return p.Err()
}

// Validate checks a StockPartReleased's order, part and lines.
func (e StockPartReleased) Validate() error {
	var p endpoint.Problems
	p.ID("order_id", e.OrderID)
	p.IntRange("part", int64(e.Part), 0, maxParts)
	orderevents.CheckItems(&p, "items", e.Items)
	return p.Err()
}
