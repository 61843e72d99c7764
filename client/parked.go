package client

import (
	"context"

	"github.com/choreo-dev/choreo/shared/service"
)

// The parked area of a service's outbox (docs/contract.md, sections 2 and
// 5): entries JetStream refused for good. Operators' subjects; in the
// secure profile only the admin identity may call them.
type (
	// ParkedEntry is one parked outbox entry.
	ParkedEntry = service.ParkedEntry
	// ParkedList is <service>.parked's reply.
	ParkedList = service.ParkedList
)

type bySeq struct {
	Seq uint64 `json:"seq"`
}

// Parked lists a service's parked outbox entries, oldest first.
func (c *Client) Parked(ctx context.Context, svc string) ([]ParkedEntry, error) {
	l, err := call[ParkedList](ctx, c, svc+".parked", struct{}{})
	return l.Parked, err
}

// RetryParked puts a parked entry back in the service's outbox, to be
// published again with its original id.
func (c *Client) RetryParked(ctx context.Context, svc string, seq uint64) error {
	_, err := call[map[string]any](ctx, c, svc+".parked_retry", bySeq{seq})
	return err
}

// DropParked deletes a parked entry; its event stays in the service's log.
func (c *Client) DropParked(ctx context.Context, svc string, seq uint64) error {
	_, err := call[map[string]any](ctx, c, svc+".parked_drop", bySeq{seq})
	return err
}
