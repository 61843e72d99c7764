package eventschema

import "errors"

// ErrUnsupported is returned when a Go type has a part that Generate cannot
// describe exactly (an interface, an embedded struct, a custom marshaller).
var ErrUnsupported = errors.New("unsupported type")

// ErrInvalid is returned when a JSON value does not satisfy a schema, or a
// schema file is not one this package wrote.
var ErrInvalid = errors.New("invalid")

// ErrIncompatible is returned when a Go type no longer matches the committed
// schema of its current version in a way that old events or old consumers
// would notice.
var ErrIncompatible = errors.New("incompatible schema change")

// ErrOutOfDate is returned when a committed schema is missing, or differs
// from the regenerated one only compatibly: regenerating it fixes it.
var ErrOutOfDate = errors.New("schema out of date")
