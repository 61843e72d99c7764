package eventschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/choreo-dev/choreo/shared/envelope"
)

// Config says whose event types Check covers and where their files are.
type Config struct {
	// Service is the publishing service: Check covers the public event types
	// that Registry registers for it, and no other.
	Service string
	// Registry knows the service's public event types with their upcasters.
	Registry *envelope.Registry
	// PackageDir is the events package's directory; its files are in
	// PackageDir/schemas.
	PackageDir string
	// Examples holds one value of each covered type, at its current version:
	// it becomes the example of the current version's schema.
	Examples []envelope.Event
	// Update writes the current version's file of a type when it is missing
	// or out of date. It never writes an older version's file, nor one whose
	// change is incompatible.
	Update bool
	// Fix is the command that runs Check with Update, quoted in messages:
	// "go test ./order/orderevents -run Schemas -update".
	Fix string
}

// Check compares the committed schema files with the registered event types,
// writes what Update allows, and returns the paths it wrote and an error
// joining every problem left, each naming the type, the version, the field
// and what to do. A problem wraps ErrIncompatible (the Go type broke its
// current version's schema), ErrOutOfDate (regenerating fixes it) or
// ErrInvalid (a file or an old example is wrong).
//
// For each covered type at current version V it checks that:
//   - the schema generated from the Go type equals the committed V file, or
//     differs from it only by optional fields added (then it is out of date);
//   - the files of versions 1 to V-1 are committed, and the example of each
//     decodes through the registry's upcasters into data that satisfies V;
//   - no file is left for a type the service does not publish, or for a
//     version above V.
func Check(cfg Config) (written []string, err error) {
	files, err := Load(os.DirFS(cfg.PackageDir))
	if err != nil {
		return nil, err
	}
	c := checker{Config: cfg, committed: map[string]File{}}
	for _, f := range files {
		c.committed[f.Path] = f
	}
	examples := map[string]envelope.Event{}
	for _, ex := range cfg.Examples {
		examples[ex.EventType()] = ex
	}
	covered := map[string]bool{}
	for _, typ := range cfg.Registry.Types() {
		if cfg.Registry.Publisher(typ) != cfg.Service {
			continue
		}
		covered[typ] = true
		ex, ok := examples[typ]
		if !ok {
			c.problem(fmt.Errorf("%s: %w: no example; add a %s value to the test's examples", typ, ErrInvalid, typ))
			continue
		}
		c.checkType(typ, ex)
	}
	for _, f := range files {
		switch v := cfg.Registry.SchemaVersion(f.Type); {
		case !covered[f.Type]:
			c.problem(fmt.Errorf("%s: %w: %s publishes no event type %s; register the type again, "+
				"or delete its files if no event of that type was ever stored or published", f.Path, ErrInvalid, cfg.Service, f.Type))
		case f.Version > v:
			c.problem(fmt.Errorf("%s: %w: %s is at schema version %d; v%d needs its upcaster registered",
				f.Path, ErrInvalid, f.Type, v, f.Version))
		}
	}
	return c.written, errors.Join(c.problems...)
}

type checker struct {
	Config
	committed map[string]File // by path
	written   []string
	problems  []error
}

func (c *checker) problem(err error) { c.problems = append(c.problems, err) }

// checkType checks one event type: its current version's file, then its
// older versions' files and examples.
func (c *checker) checkType(typ string, example envelope.Event) {
	version := c.Registry.SchemaVersion(typ)
	current, err := ForEvent(c.Service, typ, version, c.Registry.GoType(typ), example)
	if err != nil {
		c.problem(err)
		return
	}
	if !c.checkCurrent(typ, version, current) {
		return
	}
	for v := 1; v < version; v++ {
		c.checkOld(typ, v, version, current)
	}
}

// checkCurrent compares the generated schema of the current version with its
// committed file, and writes it when Update allows. It reports whether the
// current schema is usable to check older versions against.
func (c *checker) checkCurrent(typ string, version int, current *Schema) bool {
	data, err := Marshal(current)
	if err != nil {
		c.problem(err)
		return false
	}
	rel := Dir + "/" + FileName(typ, version)
	f, ok := c.committed[rel]
	switch {
	case ok && bytes.Equal(f.Data, data):
		return true
	case ok:
		changes := Compare(f.Schema, current)
		if bad := Incompatible(changes); len(bad) > 0 {
			c.problem(c.incompatible(typ, version, rel, bad))
			return false
		}
		if !c.Update {
			c.problem(fmt.Errorf("%s v%d: %w: %s differs from the Go type (%s); run `%s` to regenerate it",
				typ, version, ErrOutOfDate, rel, describe(changes), c.Fix))
			return true
		}
	case !c.Update:
		c.problem(fmt.Errorf("%s v%d: %w: %s is not committed; run `%s` to write it", typ, version, ErrOutOfDate, rel, c.Fix))
		return true
	}
	if err := c.write(rel, data); err != nil {
		c.problem(err)
		return false
	}
	return true
}

// incompatible explains a breaking change and the two ways out.
func (c *checker) incompatible(typ string, version int, rel string, bad []Change) error {
	var b strings.Builder
	for _, ch := range bad {
		b.WriteString("\n\t- " + ch.String())
	}
	goType := c.Registry.GoType(typ)
	return fmt.Errorf("%s v%d: %w with %s:%s\nEvents already stored or published as %s v%d must stay readable, "+
		"so that file never changes. Undo the change to %v, or raise %s's schema version: register an upcaster "+
		"that turns v%d data into v%d (envelope.RegisterPublic[%s](r, Service, upcasters...)) and run `%s`, "+
		"which writes %s beside it.",
		typ, version, ErrIncompatible, rel, b.String(), typ, version, goType, typ,
		version, version+1, goType.Name(), c.Fix, FileName(typ, version+1))
}

// checkOld checks an older version's committed file: it is there, its
// example satisfies it, and the example decodes through the upcasters into
// data that satisfies the current schema.
func (c *checker) checkOld(typ string, v, current int, schema *Schema) {
	rel := Dir + "/" + FileName(typ, v)
	f, ok := c.committed[rel]
	if !ok {
		c.problem(fmt.Errorf("%s v%d: %w: %s is missing; an old version's schema cannot be regenerated "+
			"(its Go type is gone): restore the file from version control", typ, v, ErrInvalid, rel))
		return
	}
	if want := ID(c.Service, typ, v); f.Schema.ID != want {
		c.problem(fmt.Errorf("%s: %w: $id %q, want %q", rel, ErrInvalid, f.Schema.ID, want))
	}
	if len(f.Schema.Examples) == 0 {
		c.problem(fmt.Errorf("%s: %w: no example to prove that v%d events still load", rel, ErrInvalid, v))
	}
	for _, ex := range f.Schema.Examples {
		if err := f.Schema.Validate(ex); err != nil {
			c.problem(fmt.Errorf("%s: example: %w", rel, err))
			continue
		}
		ev, err := c.Registry.Decode(envelope.Envelope{Type: typ, SchemaVersion: v, Data: ex})
		if err != nil {
			c.problem(fmt.Errorf("%s v%d: %w: its example does not load as v%d: %w", typ, v, ErrInvalid, current, err))
			continue
		}
		data, err := json.Marshal(ev)
		if err != nil {
			c.problem(fmt.Errorf("%s v%d: marshal the upcast example: %w", typ, v, err))
			continue
		}
		if err := schema.Validate(data); err != nil {
			c.problem(fmt.Errorf("%s v%d: its example, upcast to v%d, does not satisfy v%d: %w", typ, v, current, current, err))
		}
	}
}

func (c *checker) write(rel string, data []byte) error {
	path := filepath.Join(c.PackageDir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	c.written = append(c.written, path)
	return nil
}

// describe lists compatible changes, or says that only the example or the
// description changed.
func describe(changes []Change) string {
	if len(changes) == 0 {
		return "its example or description changed"
	}
	parts := make([]string, len(changes))
	for i, ch := range changes {
		parts[i] = ch.String()
	}
	return strings.Join(parts, "; ")
}
