package deadletter

import "errors"

// ErrNotFound means there is no dead letter at the given DLQ sequence: it
// never existed, or it has been redriven or purged.
var ErrNotFound = errors.New("dead letter not found")

// ErrMalformed means a message of the DLQ stream lacks the headers that say
// where it came from, so it cannot be redriven.
var ErrMalformed = errors.New("malformed dead letter")
