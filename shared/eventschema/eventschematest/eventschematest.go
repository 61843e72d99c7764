// Package eventschematest runs eventschema.Check from an events package's
// tests, so that `go test` fails when a committed event schema is out of date
// or a Go type broke it, and `go test -run Schemas -update` regenerates what
// may be regenerated.
package eventschematest

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/choreo-dev/choreo/shared/envelope"
	"github.com/choreo-dev/choreo/shared/eventschema"
)

var update = flag.Bool("update", false, "write the current version's event schema files (never an old version's, never an incompatible change)")

// Run checks the committed schema files of the events package under test (its
// working directory) against the public event types that register adds for
// service, with one example of each; embedded is the package's embedded
// schemas, which must hold the same files and make a working endpoint. Each
// problem fails the test with its fix; with -update it writes what it may.
//
// A new events package passes a nil embedded until its first -update run has
// written a file: go:embed refuses a pattern that matches nothing.
func Run(t *testing.T, service string, register func(*envelope.Registry), embedded fs.FS, examples ...envelope.Event) {
	t.Helper()
	r := envelope.NewRegistry()
	register(r)
	written, err := eventschema.Check(eventschema.Config{
		Service: service, Registry: r, PackageDir: ".", Examples: examples,
		Update: *update, Fix: FixCommand(),
	})
	for _, path := range written {
		t.Logf("wrote %s", path)
	}
	report(t, err)
	if *update || err != nil || embedded == nil {
		return
	}
	disk, err := eventschema.Load(os.DirFS("."))
	if err != nil {
		t.Fatal(err)
	}
	emb, err := eventschema.Load(embedded)
	if err != nil {
		t.Fatalf("embedded schemas: %v", err)
	}
	if !reflect.DeepEqual(paths(emb), paths(disk)) {
		t.Errorf("embedded schemas %v, want every file of %s/: %v (check the go:embed pattern)",
			paths(emb), eventschema.Dir, paths(disk))
	}
	eventschema.Endpoint(service, embedded) // panics on a file it cannot serve
}

// report fails t once per problem of a joined error.
func report(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Error(err)
		return
	}
	for _, e := range joined.Unwrap() {
		t.Error(e)
	}
}

func paths(files []eventschema.File) []string {
	p := make([]string, len(files))
	for i, f := range files {
		p[i] = f.Path
	}
	return p
}

// FixCommand is the command that regenerates the schemas of the package
// under test: "go test ./order/orderevents -run Schemas -update".
func FixCommand() string {
	pkg := "."
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				if rel, err := filepath.Rel(dir, wd); err == nil {
					pkg = "./" + filepath.ToSlash(rel)
				}
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return fmt.Sprintf("go test %s -run Schemas -update", pkg)
}
