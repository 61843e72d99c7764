package eventschema

import (
	"fmt"
	"slices"
	"sort"
)

// ChangeKind is what happened to one field between two schemas.
type ChangeKind int

// The kinds of change Compare reports. Only Added is compatible: every other
// kind breaks either the events already written under the old schema or the
// consumers that read by it.
const (
	// Added: a new optional field. Old events lack it, which the new schema
	// allows; old consumers ignore it, since objects are open.
	Added ChangeKind = iota + 1
	// AddedRequired: a new required field, which old events lack.
	AddedRequired
	// Removed: a field is gone, though old consumers may require it.
	Removed
	// Renamed: a field is gone and another with the same schema appeared.
	Renamed
	// Retyped: a field's type, format or encoding changed.
	Retyped
	// MadeRequired: an optional field became required; old events may lack it.
	MadeRequired
	// MadeOptional: a required field became optional; old consumers rely on it.
	MadeOptional
)

// Change is one difference between two schemas, at a field path such as
// "items[].sku" ("data" for the whole event).
type Change struct {
	Kind  ChangeKind
	Field string
	To    string // Renamed: the new name's path
	Was   string // Retyped: the old type
	Is    string // Retyped: the new type
}

// Compatible reports whether the change keeps old events readable by the new
// schema and new events readable by the old one.
func (c Change) Compatible() bool { return c.Kind == Added }

// String names the field and says what changed.
func (c Change) String() string {
	switch c.Kind {
	case Added:
		return fmt.Sprintf("field %s was added (optional)", c.Field)
	case AddedRequired:
		return fmt.Sprintf("field %s was added as required, but events already written lack it (make it omitempty to add it compatibly)", c.Field)
	case Removed:
		return fmt.Sprintf("field %s was removed", c.Field)
	case Renamed:
		return fmt.Sprintf("field %s was renamed to %s", c.Field, c.To)
	case Retyped:
		return fmt.Sprintf("field %s changed type from %s to %s", c.Field, c.Was, c.Is)
	case MadeRequired:
		return fmt.Sprintf("field %s was optional and is now required", c.Field)
	case MadeOptional:
		return fmt.Sprintf("field %s was required and is now optional", c.Field)
	}
	return fmt.Sprintf("field %s changed", c.Field)
}

// Compare lists the differences between the data described by old and by
// new, in field order. Titles, ids, descriptions and examples are not
// compared. A field removed and another added with the same schema at the
// same place is reported as one rename.
func Compare(old, new *Schema) []Change {
	var changes []Change
	compare(old, new, "", &changes)
	return changes
}

// Incompatible returns the changes that are not Compatible.
func Incompatible(changes []Change) []Change {
	var bad []Change
	for _, c := range changes {
		if !c.Compatible() {
			bad = append(bad, c)
		}
	}
	return bad
}

func compare(old, new *Schema, path string, changes *[]Change) {
	if was, is := typeName(old), typeName(new); was != is {
		at := path
		if at == "" {
			at = "data"
		}
		*changes = append(*changes, Change{Kind: Retyped, Field: at, Was: was, Is: is})
		return
	}
	if old.Items != nil && new.Items != nil {
		compare(old.Items, new.Items, path+"[]", changes)
	}
	if old.AdditionalProperties != nil && new.AdditionalProperties != nil {
		compare(old.AdditionalProperties, new.AdditionalProperties, path+"{}", changes)
	}

	var removed, added []string
	for _, name := range sortedKeys(old.Properties) {
		if _, ok := new.Properties[name]; !ok {
			removed = append(removed, name)
		}
	}
	for _, name := range sortedKeys(new.Properties) {
		if _, ok := old.Properties[name]; !ok {
			added = append(added, name)
		}
	}
	for _, name := range sortedKeys(old.Properties) {
		field := join(path, name)
		if i := slices.Index(removed, name); i >= 0 {
			// A rename: an added field of the same schema and requiredness.
			j := slices.IndexFunc(added, func(a string) bool {
				return equalSchema(old.Properties[name], new.Properties[a]) &&
					slices.Contains(old.Required, name) == slices.Contains(new.Required, a)
			})
			if j >= 0 {
				*changes = append(*changes, Change{Kind: Renamed, Field: field, To: join(path, added[j])})
				added = slices.Delete(added, j, j+1)
			} else {
				*changes = append(*changes, Change{Kind: Removed, Field: field})
			}
			continue
		}
		wasReq, isReq := slices.Contains(old.Required, name), slices.Contains(new.Required, name)
		switch {
		case !wasReq && isReq:
			*changes = append(*changes, Change{Kind: MadeRequired, Field: field})
		case wasReq && !isReq:
			*changes = append(*changes, Change{Kind: MadeOptional, Field: field})
		}
		compare(old.Properties[name], new.Properties[name], field, changes)
	}
	for _, name := range added {
		kind := Added
		if slices.Contains(new.Required, name) {
			kind = AddedRequired
		}
		*changes = append(*changes, Change{Kind: kind, Field: join(path, name)})
	}
}

// typeName is what a value of s is, in words: "integer",
// "string (date-time)", "array or null".
func typeName(s *Schema) string {
	t := slices.Clone(s.Type)
	sort.Slice(t, func(i, j int) bool { // null last: "array or null"
		if (t[i] == TypeNull) != (t[j] == TypeNull) {
			return t[j] == TypeNull
		}
		return t[i] < t[j]
	})
	name := Types(t).String()
	switch {
	case s.Format != "":
		name += " (" + s.Format + ")"
	case s.ContentEncoding != "":
		name += " (" + s.ContentEncoding + ")"
	}
	return name
}

// equalSchema reports whether a and b describe the same data.
func equalSchema(a, b *Schema) bool {
	return len(Compare(a, b)) == 0
}

func sortedKeys(m map[string]*Schema) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
