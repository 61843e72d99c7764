// Package strictjson decodes a JSON object into a Go value by rules stricter
// than encoding/json's, reading the text once.
//
// # Rules
//
// [Decode] accepts exactly one JSON object, with nothing but white space
// around it, and refuses what encoding/json would accept silently or report
// without saying where:
//
//   - malformed JSON, a value other than an object, or data after the object;
//   - a string holding invalid UTF-8 or a lone UTF-16 surrogate escape
//     (encoding/json turns both into U+FFFD);
//   - a member that the Go type does not declare, one spelled with another
//     case, and a member given twice (in any object, maps included);
//   - a value of the wrong JSON type for its Go type, and a number that does
//     not fit it;
//   - nesting deeper than [MaxDepth].
//
// Every failure is an [*Error] that matches one of the sentinels in errors.go
// and whose message names the offending field by its path, items[2].quantity.
// A structural problem (syntax, depth, UTF-8, an unknown or duplicate field)
// is reported at the first place it occurs; a wrong type only if the text has
// no structural problem, and then the first one.
//
// Values are stored as encoding/json stores them: field names are matched
// exactly as json tags (or field names) spell them, embedded structs promote
// their fields, a null leaves a value alone or sets a pointer, slice, map or
// interface to nil, an array takes the first elements and zeroes the rest,
// and an empty interface takes map[string]any, []any, float64, string, bool
// or nil.
//
// # Caveats
//
// The messages are those Choreo's request decoding has always given, word
// for word, syntax errors included (their byte offsets are encoding/json's:
// for an error inside a string, number or literal, the count of the bytes of
// such tokens read so far). The messages say "request body" for the object as
// a whole.
//
// Types that read their own JSON (json.Unmarshaler, encoding.TextUnmarshaler,
// json.Number), interfaces with methods and maps whose keys are not strings
// are checked by the rules above and then handed, as a slice of the text, to
// encoding/json; errors they return are wrapped, not rewritten. The
// ",string" tag option is not supported.
package strictjson
