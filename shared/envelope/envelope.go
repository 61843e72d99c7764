package envelope

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Event is a domain event: a plain value that names its type. Event types are
// stable public names ("OrderPlaced"); the Go type behind one may change as
// long as its JSON stays readable through the registry's upcasters.
type Event interface {
	EventType() string
}

// Correlated is an event that belongs to one saga. Correlation returns the
// saga's id, which the envelope's correlation_id must carry (in Choreo's
// order saga, the order id).
type Correlated interface {
	Event
	Correlation() string
}

// Envelope is an event as stored and published. Its JSON form is the contract's
// message body, field for field.
type Envelope struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	AggregateType string          `json:"aggregate_type"`
	AggregateID   string          `json:"aggregate_id"`
	Version       uint64          `json:"version"`
	OccurredAt    time.Time       `json:"occurred_at"`
	CorrelationID string          `json:"correlation_id"`
	CausationID   string          `json:"causation_id"`
	Data          json.RawMessage `json:"data"`
}

// NewID returns a new UUIDv7 as a string. UUIDv7 ids sort by creation time,
// which keeps bbolt keys that embed them append-mostly.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only if the system's random source fails; nothing sane
		// can continue without one.
		panic(fmt.Sprintf("envelope: uuid v7: %v", err))
	}
	return id.String()
}

// Parse decodes and checks an envelope. It fails with ErrInvalid when the body
// is not JSON or a field that every envelope has is missing.
func Parse(body []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := e.check(); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

func (e Envelope) check() error {
	switch {
	case e.ID == "":
		return fmt.Errorf("%w: id is required", ErrInvalid)
	case e.Type == "":
		return fmt.Errorf("%w: type is required", ErrInvalid)
	case e.SchemaVersion < 1:
		return fmt.Errorf("%w: schema_version must be at least 1", ErrInvalid)
	case e.AggregateType == "":
		return fmt.Errorf("%w: aggregate_type is required", ErrInvalid)
	case e.AggregateID == "":
		return fmt.Errorf("%w: aggregate_id is required", ErrInvalid)
	case e.Version < 1:
		return fmt.Errorf("%w: version must be at least 1", ErrInvalid)
	case len(e.Data) == 0 || e.Data[0] != '{':
		return fmt.Errorf("%w: data must be a JSON object", ErrInvalid)
	}
	return nil
}
