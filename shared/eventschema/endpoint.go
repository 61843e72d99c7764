package eventschema

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"

	"github.com/choreo-dev/choreo/shared/endpoint"
)

// Request is the body of "<service>.schemas": both fields are optional
// filters.
type Request struct {
	Type    string `json:"type"`
	Version *int   `json:"version"`
}

// Validate checks the filters: a type is an identifier, a version at least 1.
func (r *Request) Validate() error {
	var p endpoint.Problems
	p.OptionalID("type", r.Type)
	if r.Version != nil {
		p.IntRange("version", int64(*r.Version), 1, math.MaxInt32)
	}
	return p.Err()
}

// Reply is the answer of "<service>.schemas".
type Reply struct {
	Schemas []Entry `json:"schemas"`
}

// Entry is one served schema.
type Entry struct {
	Type    string          `json:"type"`
	Version int             `json:"version"`
	Schema  json.RawMessage `json:"schema"`
}

// Endpoint returns the "<service>.schemas" endpoint, which answers from the
// committed schema files in fsys (schemas/*.json, as an events package
// embeds them): every version of every type, sorted by type and version, or
// those of the requested type and version. An unknown type or version is a
// 404 that names the field.
//
// The files are read once, here. A file that does not load is a programming
// error that the events package's own test reports, so Endpoint panics on
// it, at start-up, as envelope.RegisterPublic does on a type registered twice.
func Endpoint(service string, fsys fs.FS) endpoint.Endpoint {
	files, err := Load(fsys)
	if err != nil {
		panic(fmt.Sprintf("eventschema: %s schemas: %v", service, err))
	}
	entries := make([]Entry, len(files))
	for i, f := range files {
		entries[i] = Entry{Type: f.Type, Version: f.Version, Schema: json.RawMessage(f.Data)}
	}
	return endpoint.New(service+".schemas", func(_ context.Context, r *Request) (any, error) {
		return find(entries, r)
	})
}

// find returns the entries that match r's filters.
func find(entries []Entry, r *Request) (Reply, error) {
	reply := Reply{Schemas: []Entry{}}
	typeKnown := false
	for _, e := range entries {
		if r.Type != "" && e.Type != r.Type {
			continue
		}
		typeKnown = true
		if r.Version != nil && e.Version != *r.Version {
			continue
		}
		reply.Schemas = append(reply.Schemas, e)
	}
	switch {
	case r.Type != "" && !typeKnown:
		return Reply{}, endpoint.NotFound("type %s: event type not found", r.Type)
	case len(reply.Schemas) == 0 && r.Version != nil && r.Type != "":
		return Reply{}, endpoint.NotFound("version %d: %s has no schema of that version", *r.Version, r.Type)
	case len(reply.Schemas) == 0 && r.Version != nil:
		return Reply{}, endpoint.NotFound("version %d: no event schema of that version", *r.Version)
	}
	return reply, nil
}
