package eventschema

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// ID returns the $id of an event type's schema at a version:
// "urn:choreo:event:order:OrderPlaced:v1".
func ID(service, eventType string, version int) string {
	return fmt.Sprintf("urn:choreo:event:%s:%s:v%d", service, eventType, version)
}

// ForEvent returns the schema of the data of eventType, published by service,
// at schema version version, whose Go type is t. example, a value of type t,
// becomes its one example; it must satisfy the schema.
func ForEvent(service, eventType string, version int, t reflect.Type, example any) (*Schema, error) {
	if t == nil || t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("schema of %s: %w: event data must be a struct, not %v", eventType, ErrUnsupported, t)
	}
	if reflect.TypeOf(example) != t {
		return nil, fmt.Errorf("schema of %s: example is a %T, want a %v", eventType, example, t)
	}
	s, err := Generate(t)
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", eventType, err)
	}
	ex, err := json.Marshal(example)
	if err != nil {
		return nil, fmt.Errorf("schema of %s: marshal example: %w", eventType, err)
	}
	if err := s.Validate(ex); err != nil {
		return nil, fmt.Errorf("schema of %s: example: %w", eventType, err)
	}
	s.Schema = Draft
	s.ID = ID(service, eventType, version)
	s.Title = fmt.Sprintf("%s v%d", eventType, version)
	s.Description = fmt.Sprintf("The data of the %s event that the %s service publishes, schema version %d.", eventType, service, version)
	s.Examples = []json.RawMessage{ex}
	return s, nil
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	jsonMarshaler     = reflect.TypeFor[json.Marshaler]()
	textMarshaler     = reflect.TypeFor[encoding.TextMarshaler]()
	jsonUnmarshaler   = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler   = reflect.TypeFor[encoding.TextUnmarshaler]()
	customMarshallers = []reflect.Type{jsonMarshaler, textMarshaler, jsonUnmarshaler, textUnmarshaler}
)

// Generate returns the schema of the JSON that encoding/json writes for a
// value of type t, or ErrUnsupported naming the first field it cannot
// describe exactly.
func Generate(t reflect.Type) (*Schema, error) {
	g := generator{open: map[reflect.Type]bool{}}
	return g.schema(t, "")
}

type generator struct {
	open map[reflect.Type]bool // structs being described, to refuse cycles
}

func (g generator) schema(t reflect.Type, path string) (*Schema, error) {
	if t == timeType {
		return &Schema{Type: Types{TypeString}, Format: "date-time"}, nil
	}
	for _, m := range customMarshallers {
		// A pointer has its element's methods; the element is checked next.
		if t.Kind() != reflect.Pointer && (t.Implements(m) || reflect.PointerTo(t).Implements(m)) {
			return nil, unsupported(path, "%v has its own %v", t, m)
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return &Schema{Type: Types{TypeBoolean}}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return &Schema{Type: Types{TypeInteger}}, nil
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: Types{TypeNumber}}, nil
	case reflect.String:
		return &Schema{Type: Types{TypeString}}, nil
	case reflect.Pointer:
		s, err := g.schema(t.Elem(), path)
		if err != nil {
			return nil, err
		}
		s.Type = s.Type.nullable()
		return s, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			// encoding/json writes a []byte as a base64 string.
			return &Schema{Type: Types{TypeString, TypeNull}, ContentEncoding: "base64"}, nil
		}
		items, err := g.schema(t.Elem(), path+"[]")
		if err != nil {
			return nil, err
		}
		return &Schema{Type: Types{TypeArray, TypeNull}, Items: items}, nil
	case reflect.Array:
		items, err := g.schema(t.Elem(), path+"[]")
		if err != nil {
			return nil, err
		}
		return &Schema{Type: Types{TypeArray}, Items: items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, unsupported(path, "map keys must be strings, not %v", t.Key())
		}
		values, err := g.schema(t.Elem(), path+"{}")
		if err != nil {
			return nil, err
		}
		return &Schema{Type: Types{TypeObject, TypeNull}, AdditionalProperties: values}, nil
	case reflect.Struct:
		return g.object(t, path)
	default:
		return nil, unsupported(path, "%v is a %v", t, t.Kind())
	}
}

// object describes a struct the way encoding/json writes it.
func (g generator) object(t reflect.Type, path string) (*Schema, error) {
	if g.open[t] {
		return nil, unsupported(path, "%v contains itself", t)
	}
	g.open[t] = true
	defer delete(g.open, t)
	s := &Schema{Type: Types{TypeObject}, Properties: map[string]*Schema{}}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			return nil, unsupported(join(path, f.Name), "embedded fields are not described; give the field a json name")
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fpath := join(path, name)
		optional := false
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "omitempty", "omitzero":
				optional = true
			case "string":
				return nil, unsupported(fpath, "the \",string\" option is not described")
			}
		}
		if _, dup := s.Properties[name]; dup {
			return nil, unsupported(fpath, "two fields are named %q", name)
		}
		fs, err := g.schema(f.Type, fpath)
		if err != nil {
			return nil, err
		}
		s.Properties[name] = fs
		if !optional {
			s.Required = append(s.Required, name)
		}
	}
	slices.Sort(s.Required)
	return s, nil
}

// join appends a field name to a path: "shipping_address.city".
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func unsupported(path, format string, args ...any) error {
	if path == "" {
		path = "data"
	}
	return fmt.Errorf("%s: %w: %s", path, ErrUnsupported, fmt.Sprintf(format, args...))
}
