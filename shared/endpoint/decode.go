package endpoint

import (
	"bytes"
	"errors"

	"github.com/choreo-dev/choreo/shared/strictjson"
)

// MaxBodySize is the largest request body the contract accepts: 64 KiB.
const MaxBodySize = 64 << 10

// Decode decodes a request body into a new Req by the contract's rules, then
// validates it if *Req has a method Validate() error. Every failure is an
// *Error whose message names the offending field:
//
//   - a body over MaxBodySize is 413 too_large;
//   - an empty body is read as {}, so validation reports the missing fields;
//   - the body must be exactly one JSON object: malformed JSON, any other
//     value, or data after the object is 400;
//   - a string holding invalid UTF-8 (or a lone UTF-16 surrogate escape) is
//     400 "<field> must be valid UTF-8": encoding/json would silently turn
//     it into U+FFFD;
//   - a field that Req does not declare, spelled with another case, or given
//     twice is 400 "<field>: unknown field" / "<field>: duplicate field";
//   - a value of the wrong JSON type is 400 "<field> must be an integer" (or
//     a string, …); a number that does not fit is 400 "<field> is out of range";
//   - Validate's error is returned as is if it is an *Error, as 400 otherwise.
//
// Field paths look like items[2].quantity. Package strictjson does the
// decoding; the size limit and the replies are the contract's.
func Decode[Req any](body []byte) (*Req, error) {
	if len(body) > MaxBodySize {
		return nil, tooLarge("request body is %d bytes, limit is %d", len(body), MaxBodySize)
	}
	if len(bytes.Trim(body, " \t\r\n")) == 0 {
		body = []byte("{}")
	}
	req := new(Req)
	if err := strictjson.Decode(body, req); err != nil {
		var e *Error // a type decoding its own JSON may refuse with one
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, Invalid("%s", err.Error())
	}
	if v, ok := any(req).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			var e *Error
			if errors.As(err, &e) {
				return nil, e
			}
			return nil, Invalid("%s", err.Error())
		}
	}
	return req, nil
}
