package dlq

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrSomeFailed is what Each returns when it went through every selected
// letter and fn failed for some (each was reported as it happened).
var ErrSomeFailed = errors.New("dead letter(s) failed")

// Explain adds what an operator can do about err, when there is something:
// a missing DLQ stream means no service has started yet.
func Explain(err error) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("%w (no DLQ stream: has a service started?)", err)
	}
	return err
}
