package eventstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/choreo-dev/choreo/shared/envelope"
	bolt "go.etcd.io/bbolt"
)

// RebuildProjections empties every projection bucket and replays the whole
// log, in commit order, through the projections, then the consumed events
// kept (see RecordConsumed) through the ConsumedProjections, in one
// transaction: the views are rebuilt from the source of truth or left as
// they were: a ctx cancelled meanwhile rolls it back. events counts both.
func (s *Store) RebuildProjections(ctx context.Context) (events int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	err = s.db.Update(func(btx *bolt.Tx) error {
		events = 0
		tx := &Tx{b: btx, s: s, now: s.opts.Now().UTC(), rebuilding: true}
		views := btx.Bucket(bucketViews)
		for _, p := range append(slices.Clone(s.opts.Projections), s.opts.ConsumedProjections...) {
			for _, name := range p.Buckets() {
				if views.Bucket([]byte(name)) != nil {
					if err := views.DeleteBucket([]byte(name)); err != nil {
						return fmt.Errorf("drop view %s: %w", name, err)
					}
				}
			}
		}
		evs := btx.Bucket(bucketEvents)
		c := btx.Bucket(bucketLog).Cursor()
		for _, ek := c.First(); ek != nil; _, ek = c.Next() {
			if events%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			raw := evs.Get(ek)
			if raw == nil {
				return fmt.Errorf("log points at a missing event %q", ek)
			}
			var env envelope.Envelope
			if err := json.Unmarshal(raw, &env); err != nil {
				return fmt.Errorf("read event: %w", err)
			}
			ev, err := s.opts.Registry.Decode(env)
			if err != nil {
				return err
			}
			for _, p := range s.opts.Projections {
				if err := p.Apply(tx, env, ev); err != nil {
					return fmt.Errorf("project %s %s/%s v%d: %w", env.Type, env.AggregateType, env.AggregateID, env.Version, err)
				}
			}
			events++
		}
		n, err := tx.replayConsumed()
		events += n
		return err
	})
	return events, err
}
