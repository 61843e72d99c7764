package shippingevents

import "embed"

// Schemas holds the JSON Schema of the data of each public shipping event type,
// one file per schema version (schemas/<Type>.v<N>.json). The package's test
// generates them from the Go types and fails when a type breaks its current
// version's file; the service serves them on shipping.schemas.
//
//go:embed schemas/*.json
var Schemas embed.FS
