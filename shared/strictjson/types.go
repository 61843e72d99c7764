package strictjson

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// kind is how a Go type takes JSON.
type kind uint8

const (
	kindOpaque kind = iota // decoded by encoding/json after the checks
	kindBool
	kindInt
	kindUint
	kindFloat
	kindString
	kindBytes // []byte: a base64 string, or an array of numbers
	kindSlice
	kindArray
	kindMap // with string or integer keys
	kindStruct
	kindPointer
	kindAny // the empty interface
)

// typeInfo is what decoding needs to know about a Go type, built once per
// type.
type typeInfo struct {
	typ  reflect.Type
	kind kind
	// elem is the element type of a pointer, slice, array or map.
	elem *typeInfo
	// key describes a map's integer key type; nil for string keys.
	key *typeInfo
	// check, for an opaque map, describes it to the checks, which follow
	// its values' types.
	check *typeInfo
	// fields and byName describe a struct's JSON members.
	fields []field
	byName map[string]int
}

// field is one JSON member of a struct.
type field struct {
	name  string
	index []int // reflect field index, through embedded structs
	info  *typeInfo
}

var (
	typeCache       sync.Map // reflect.Type → *typeInfo
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	numberType      = reflect.TypeFor[json.Number]()
)

// infoOf returns the description of t, building it (and those of the types
// it contains) on first use.
func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeCache.Load(t); ok {
		return ti.(*typeInfo)
	}
	building := map[reflect.Type]*typeInfo{}
	ti := build(t, building)
	for t, ti := range building {
		typeCache.LoadOrStore(t, ti)
	}
	return ti
}

func build(t reflect.Type, building map[reflect.Type]*typeInfo) *typeInfo {
	if ti, ok := typeCache.Load(t); ok {
		return ti.(*typeInfo)
	}
	if ti, ok := building[t]; ok {
		return ti // a recursive type: filled in further up
	}
	ti := &typeInfo{typ: t}
	building[t] = ti
	if t.Kind() != reflect.Pointer && (reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		reflect.PointerTo(t).Implements(textUnmarshaler) || t == numberType) {
		return ti // opaque, and not looked into
	}
	switch t.Kind() {
	case reflect.Bool:
		ti.kind = kindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		ti.kind = kindInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		ti.kind = kindUint
	case reflect.Float32, reflect.Float64:
		ti.kind = kindFloat
	case reflect.String:
		ti.kind = kindString
	case reflect.Slice:
		ti.kind = kindSlice
		if t.Elem().Kind() == reflect.Uint8 {
			ti.kind = kindBytes
		}
		ti.elem = build(t.Elem(), building)
	case reflect.Array:
		ti.kind = kindArray
		ti.elem = build(t.Elem(), building)
	case reflect.Map:
		ti.elem = build(t.Elem(), building)
		switch kt := t.Key(); {
		case reflect.PointerTo(kt).Implements(textUnmarshaler):
			ti.check = &typeInfo{typ: t, kind: kindMap, elem: ti.elem}
		case kt.Kind() == reflect.String:
			ti.kind = kindMap
		case kt.Kind() >= reflect.Int && kt.Kind() <= reflect.Uintptr:
			ti.kind = kindMap
			ti.key = build(kt, building)
		default:
			ti.check = &typeInfo{typ: t, kind: kindMap, elem: ti.elem}
		}
	case reflect.Struct:
		ti.kind = kindStruct
		collect(t, nil, building, ti, map[string]fieldDepth{}, map[reflect.Type]bool{})
		ti.byName = make(map[string]int, len(ti.fields))
		for i, f := range ti.fields {
			ti.byName[f.name] = i
		}
	case reflect.Pointer:
		ti.kind = kindPointer
		ti.elem = build(t.Elem(), building)
	case reflect.Interface:
		if t.NumMethod() == 0 {
			ti.kind = kindAny
		}
	}
	return ti
}

// fieldDepth is where a member name was found: how deep in embedded structs,
// whether by a tag, and whether another field at that depth claims it too.
type fieldDepth struct {
	depth     int
	tagged    bool
	ambiguous bool
}

// collect gathers struct t's JSON members into ti by encoding/json's rules:
// unexported and "-" fields are left out, an untagged embedded struct
// promotes its fields, a shallower field hides a deeper one, and of two at
// the same depth a tagged one wins; two equal claims leave the name unknown.
func collect(t reflect.Type, index []int, building map[reflect.Type]*typeInfo, ti *typeInfo, seen map[string]fieldDepth, visiting map[reflect.Type]bool) {
	if visiting[t] {
		return
	}
	visiting[t] = true
	defer delete(visiting, t)
	depth := len(index)
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		at := append(append([]int(nil), index...), i)
		if f.Anonymous {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if !f.IsExported() && et.Kind() != reflect.Struct {
				continue
			}
			if name == "" && et.Kind() == reflect.Struct {
				collect(et, at, building, ti, seen, visiting)
				continue
			}
		} else if !f.IsExported() {
			continue
		}
		tagged := name != ""
		if !tagged {
			name = f.Name
		}
		if prev, ok := seen[name]; ok {
			switch {
			case prev.depth < depth, prev.depth == depth && prev.tagged && !tagged:
				continue
			case prev.depth == depth && prev.tagged == tagged:
				prev.ambiguous = true
				seen[name] = prev
				continue
			}
		}
		seen[name] = fieldDepth{depth: depth, tagged: tagged}
		ti.fields = slicesDeleteName(ti.fields, name)
		ti.fields = append(ti.fields, field{name: name, index: at, info: build(f.Type, building)})
	}
	if depth == 0 {
		for name, fd := range seen {
			if fd.ambiguous {
				ti.fields = slicesDeleteName(ti.fields, name)
			}
		}
	}
}

func slicesDeleteName(fields []field, name string) []field {
	for i, f := range fields {
		if f.name == name {
			return append(fields[:i], fields[i+1:]...)
		}
	}
	return fields
}
