package consumer

import (
	"fmt"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/fault"
	"github.com/choreo-dev/choreo/shared/streams"
	"github.com/nats-io/nats.go/jetstream"
)

// decode parses a delivered message and believes it only if it is consistent
// with where it came from. Every refusal is poison (dead-lettered at once,
// nothing changed), with a reason that says what did not match:
//
//   - the body is a well-formed envelope of a known type, whose data decodes;
//   - the type is a public event (private ones are never published) and the
//     stream that delivered it is its publisher's;
//   - the subject is exactly where its publisher publishes it:
//     "<publisher>.events.<type>.<aggregate id>";
//   - an event of a saga carries its saga in correlation_id, and the
//     subject's id is that saga's (the order's);
//   - its payload is within the contract's limits (the event type's
//     Validate).
func (r *runner) decode(msg jetstream.Msg, meta *jetstream.MsgMetadata) (envelope.Envelope, envelope.Event, error) {
	env, err := envelope.Parse(msg.Data())
	if err != nil {
		return env, nil, fault.MarkPoison(err)
	}
	ev, err := r.reg.Decode(env)
	if err != nil {
		return env, nil, fault.MarkPoison(err)
	}
	publisher := r.reg.Publisher(env.Type)
	if publisher == "" {
		return env, nil, inconsistent("%s is not a public event type", env.Type)
	}
	if want := streams.Name(publisher); meta.Stream != want {
		return env, nil, inconsistent("%s is published by %s on %s, but this one came from stream %s", env.Type, publisher, want, meta.Stream)
	}
	want := streams.Subject(publisher, env.Type, env.AggregateID)
	if got := streams.Published(msg.Subject()); got != want {
		return env, nil, inconsistent("subject %s does not match the envelope (type %s, aggregate_id %s): want %s",
			got, env.Type, env.AggregateID, want)
	}
	// The partition token is the server's to add: one published with the
	// event would send it to a partition that does not own it.
	if stored := streams.Stored(want, r.cfg.Partitions); msg.Subject() != stored {
		return env, nil, inconsistent("stored subject %s is not where the stream puts %s: want %s", msg.Subject(), want, stored)
	}
	if c, ok := ev.(envelope.Correlated); ok {
		saga := c.Correlation()
		if env.CorrelationID != saga {
			return env, nil, inconsistent("correlation_id %q is not the event's saga %q", env.CorrelationID, saga)
		}
		if env.AggregateID != saga {
			return env, nil, inconsistent("subject id %q is not the event's saga %q", env.AggregateID, saga)
		}
	}
	if v, ok := ev.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return env, nil, inconsistent("invalid %s: %v", env.Type, err)
		}
	}
	return env, ev, nil
}

func inconsistent(format string, args ...any) error {
	return fault.MarkPoison(fmt.Errorf("%w: "+format, append([]any{ErrInconsistent}, args...)...))
}
