package envelope

import "errors"

// ErrUnknownType is returned when an envelope's type is not in the registry.
var ErrUnknownType = errors.New("unknown event type")

// ErrInvalid is returned when a message is not a well-formed envelope: broken
// JSON, or a required field missing. A consumer dead-letters such a message at
// once; no retry can fix it.
var ErrInvalid = errors.New("invalid envelope")

// ErrSchemaVersion is returned when an envelope claims a schema version newer
// than the registry knows, or one for which no upcaster path exists.
var ErrSchemaVersion = errors.New("unsupported schema version")
