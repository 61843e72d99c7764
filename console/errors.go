package console

import "errors"

// ErrBadRequest is a request the console refuses as it stands: a
// malformed order id, an unknown status, a missing token. Its message
// names the field.
var ErrBadRequest = errors.New("bad request")

// ErrForbidden is an action refused for where it came from: no token, a
// wrong one, another origin.
var ErrForbidden = errors.New("forbidden")
