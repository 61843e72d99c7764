// Package eventschema describes public event types as JSON Schema (draft
// 2020-12), keeps the descriptions stable, and serves them.
//
// The service that publishes an event type owns its schema. The schema of
// each type and schema version is generated from the Go type, committed
// beside its events package (schemas/<Type>.v<N>.json) and embedded in the
// service, which answers "<service>.schemas" from it. A committed file is a
// promise about every event of that type and version, stored or still to be
// published: it is never rewritten except to add an optional field.
//
// # Basics
//
// An events package embeds its files and runs [Check] from a test (through
// eventschematest.Run):
//
//	//go:embed schemas/*.json
//	var Schemas embed.FS
//
// Check regenerates the current version's schema of every public type the
// service registers and compares it with the committed file: an identical
// file passes; one that only lacks optional fields is out of date (Update
// rewrites it); any other difference (a field removed, renamed or retyped,
// made required or optional, or added as required) is incompatible and stays
// so until the type's schema version is raised with an upcaster, which makes
// Check write the new version's file beside the old. For every older version
// Check decodes the committed example through the registry's upcasters and
// validates the result against the current schema: old events still load.
//
// `go test ./<pkg> -run Schemas -update` (or `make schemas` for every
// events package) writes what may be written. A new events package runs it
// once before adding its go:embed line, which needs a file to match.
//
// The service's spec adds the endpoint in one line:
//
//	eventschema.Endpoint(orderevents.Service, orderevents.Schemas)
//
// # Caveats
//
// Generation covers what encoding/json does with plain types: structs with
// json tags (omitempty and omitzero make a field optional), strings, bools,
// integers, floats, time.Time (an RFC 3339 date-time string), slices, arrays,
// maps with string keys and pointers. A nil slice, map or pointer encodes as
// null, so their schemas allow null. Any other type (interfaces, embedded
// structs, types with their own MarshalJSON or MarshalText, the ",string"
// option) is refused with ErrUnsupported rather than guessed at.
//
// Objects are open (no additionalProperties: false): a consumer holding an
// older file must accept an event with a field added since. Integer bounds of
// sized types are not expressed.
package eventschema
