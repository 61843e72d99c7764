package eventschema

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Dir is the directory of an events package that holds its committed schema
// files, one per public event type and schema version.
const Dir = "schemas"

// FileName is the name of the schema file of an event type at a version:
// "OrderPlaced.v1.json".
func FileName(eventType string, version int) string {
	return fmt.Sprintf("%s.v%d.json", eventType, version)
}

var fileNameRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*)\.v([1-9][0-9]{0,8})\.json$`)

// File is one committed schema file.
type File struct {
	Path    string // in its file system: "schemas/OrderPlaced.v1.json"
	Type    string
	Version int
	Data    []byte // as committed
	Schema  *Schema
}

// Load reads every schemas/*.json file of fsys (an events package's embedded
// files, or its directory), sorted by type and version. A file whose name is
// not <Type>.v<N>.json, which does not parse, or whose title does not match
// its name is an error wrapping ErrInvalid.
func Load(fsys fs.FS) ([]File, error) {
	names, err := fs.Glob(fsys, Dir+"/*.json")
	if err != nil {
		return nil, fmt.Errorf("load schemas: %w", err)
	}
	files := make([]File, 0, len(names))
	for _, name := range names {
		m := fileNameRE.FindStringSubmatch(path.Base(name))
		if m == nil {
			return nil, fmt.Errorf("load %s: %w: the name must be <Type>.v<N>.json", name, ErrInvalid)
		}
		version, _ := strconv.Atoi(m[2])
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		s, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		if want := fmt.Sprintf("%s v%d", m[1], version); s.Title != want {
			return nil, fmt.Errorf("load %s: %w: title %q, want %q", name, ErrInvalid, s.Title, want)
		}
		files = append(files, File{Path: name, Type: m[1], Version: version, Data: data, Schema: s})
	}
	slices.SortFunc(files, func(a, b File) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return a.Version - b.Version
	})
	return files, nil
}
