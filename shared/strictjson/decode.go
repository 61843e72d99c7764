package strictjson

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// MaxDepth bounds how deeply objects and arrays may nest, the top-level
// object included.
const MaxDepth = 32

// Decode decodes data, which must hold exactly one JSON object, into the
// value v points to, by the package's rules. Every failure is an *Error,
// except the error for a v that is not a non-nil pointer. v should be the
// zero value of its type: on failure it may be left partly filled.
func Decode(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("strictjson: Decode needs a non-nil pointer, not %T", v)
	}
	d := decoder{data: data}
	d.path = d.steps[:0]
	if err := d.top(rv.Elem(), infoOf(rv.Type().Elem())); err != nil {
		return err
	}
	if d.refusal != nil {
		return d.refusal
	}
	if d.typeErr != nil {
		return d.typeErr
	}
	return nil
}

// decoder reads one text, from start to end, storing values as it goes.
type decoder struct {
	data    []byte
	pos     int
	scalars int // bytes of the scalars read so far: offsets of errors in them count these
	depth   int // objects and arrays open
	path    []step
	steps   [8]step // path's first array
	typeErr *Error  // the first wrong type; reported if nothing worse is found
	refusal *Error  // the first refusal by a type decoding its own JSON: worse than a wrong type
	buf     []byte  // for unescaping
}

func (d *decoder) syntaxError(msg string, offset int) *Error {
	return &Error{Kind: ErrSyntax, Offset: int64(offset), msg: fmt.Sprintf("malformed JSON at byte %d: %s", offset, msg)}
}

// fail returns an error about the value at the current path.
func (d *decoder) fail(kind error, format string) *Error {
	field := render(d.path)
	name := field
	if name == "" {
		name = "request body"
	}
	return &Error{Kind: kind, Field: field, msg: fmt.Sprintf(format, name)}
}

// top reads the text: one object and white space.
func (d *decoder) top(v reflect.Value, ti *typeInfo) error {
	c, ok := d.peek()
	if !ok {
		return d.eof()
	}
	switch c {
	case '{':
		if err := d.value(v, ti); err != nil {
			return err
		}
		if _, ok := d.peek(); ok {
			return d.syntaxError("unexpected data after the JSON object", d.pos)
		}
		return nil
	case '[':
	case ']', '}', ',', ':':
		return d.tokenError(c, " looking for beginning of value")
	default:
		// A scalar: malformed, or not an object.
		var err *Error
		switch {
		case c == '"':
			_, err = d.scanString()
		case c == 't':
			err = d.scanLiteral("true")
		case c == 'f':
			err = d.scanLiteral("false")
		case c == 'n':
			err = d.scanLiteral("null")
		case c == '-' || '0' <= c && c <= '9':
			_, err = d.scanNumber()
		default:
			err = d.scalarError(c, "looking for beginning of value", d.pos, d.pos)
		}
		if err != nil {
			return err
		}
	}
	return &Error{Kind: ErrNotObject, msg: "request body must be a JSON object"}
}

// value reads one value into v, as ti describes it. A zero v only checks the
// value (an array's elements past its length), a nil ti only its syntax,
// UTF-8 and duplicate fields (a value of the wrong type).
func (d *decoder) value(v reflect.Value, ti *typeInfo) error {
	c, ok := d.peek()
	if !ok {
		return d.eof()
	}
	if ti != nil && ti.kind == kindPointer {
		if c == 'n' {
			if err := d.scanLiteral("null"); err != nil {
				return err
			}
			if v.IsValid() {
				v.SetZero()
			}
			return nil
		}
		if v.IsValid() {
			if v.IsNil() {
				v.Set(reflect.New(ti.typ.Elem()))
			}
			v = v.Elem()
		}
		return d.value(v, ti.elem)
	}
	if ti != nil && ti.kind == kindOpaque {
		return d.opaque(v, ti)
	}
	switch c {
	case '{', '[':
		if d.depth == MaxDepth {
			return &Error{Kind: ErrTooDeep, msg: fmt.Sprintf("request body nests deeper than %d levels", MaxDepth)}
		}
		d.pos++
		d.depth++
		var err error
		if c == '{' {
			err = d.object(v, ti)
		} else {
			err = d.array(v, ti)
		}
		d.depth--
		return err
	case ']', '}', ',', ':':
		return d.tokenError(c, " looking for beginning of value")
	case '"':
		s, err := d.scanString()
		if err != nil {
			return err
		}
		if !s.valid {
			return d.fail(ErrInvalidUTF8, "%s must be valid UTF-8")
		}
		return d.storeString(v, ti, s)
	case 't', 'f':
		word := "true"
		if c == 'f' {
			word = "false"
		}
		if err := d.scanLiteral(word); err != nil {
			return err
		}
		switch {
		case ti == nil || !v.IsValid():
		case ti.kind == kindBool:
			v.SetBool(c == 't')
		case ti.kind == kindAny:
			v.Set(reflect.ValueOf(c == 't'))
		default:
			d.mismatch(ti.typ)
		}
		return nil
	case 'n':
		if err := d.scanLiteral("null"); err != nil {
			return err
		}
		if ti != nil && v.IsValid() {
			switch ti.kind {
			case kindAny, kindMap, kindSlice, kindBytes:
				v.SetZero()
			}
		}
		return nil
	}
	if c == '-' || '0' <= c && c <= '9' {
		num, err := d.scanNumber()
		if err != nil {
			return err
		}
		if ti != nil && v.IsValid() {
			d.storeNumber(v, ti, num)
		}
		return nil
	}
	return d.scalarError(c, "looking for beginning of value", d.pos, d.pos)
}

// object reads the members of an object whose '{' was just read.
func (d *decoder) object(v reflect.Value, ti *typeInfo) error {
	k := kindOpaque
	if ti != nil {
		k = ti.kind
	}
	var (
		seen  uint64 // a struct's fields given, when it has at most 64
		seenN []bool // when it has more
		keys  keySet // the names given, of any other object
		am    map[string]any
	)
	switch k {
	case kindStruct:
		if len(ti.fields) > 64 {
			seenN = make([]bool, len(ti.fields))
		}
	case kindMap:
		if v.IsValid() && v.IsNil() {
			v.Set(reflect.MakeMap(ti.typ))
		}
	case kindAny:
		if v.IsValid() {
			am = map[string]any{}
			defer v.Set(reflect.ValueOf(am))
		}
	default:
		if ti != nil && v.IsValid() {
			d.mismatch(ti.typ)
		}
		ti, k = nil, kindOpaque
	}
	for first := true; ; first = false {
		c, ok := d.peek()
		if !ok {
			return d.eof()
		}
		switch {
		case first && c == '}':
			d.pos++
			return nil
		case first && c != '"':
			return d.tokenError(c, "")
		case c != '"':
			return d.tokenError(c, " looking for beginning of object key string")
		}
		s, err := d.scanString()
		if err != nil {
			return err
		}
		if !s.valid {
			if parent := render(d.path); parent != "" {
				return &Error{Kind: ErrInvalidUTF8, Field: parent, msg: parent + " has a field name that is not valid UTF-8"}
			}
			return &Error{Kind: ErrInvalidUTF8, msg: "request body has a field name that is not valid UTF-8"}
		}
		name := d.bytes(s)
		var (
			fv  reflect.Value
			fti *typeInfo
			key string
		)
		if k == kindStruct {
			i, known := ti.byName[string(name)]
			if !known {
				d.path = append(d.path, step{key: string(name), index: -1})
				return d.fail(ErrUnknownField, "%s: unknown field")
			}
			f := &ti.fields[i]
			key, fti = f.name, f.info
			var dup bool
			if seenN != nil {
				dup, seenN[i] = seenN[i], true
			} else {
				dup, seen = seen&(1<<i) != 0, seen|1<<i
			}
			d.path = append(d.path, step{key: key, index: -1})
			if dup {
				return d.fail(ErrDuplicateField, "%s: duplicate field")
			}
			if v.IsValid() {
				if fv, err = fieldOf(v, f.index); err != nil {
					if d.refusal == nil {
						d.refusal = err
					}
					fv = reflect.Value{}
				}
			}
		} else {
			key = string(name)
			d.path = append(d.path, step{key: key, index: -1})
			if keys.add(key) {
				return d.fail(ErrDuplicateField, "%s: duplicate field")
			}
			if k == kindAny {
				fti = anyInfo
			}
			if k == kindMap {
				fti = ti.elem
				if v.IsValid() {
					fv = reflect.New(ti.typ.Elem()).Elem()
				}
			}
		}
		c, ok = d.peek()
		if !ok {
			return d.eof()
		}
		if c != ':' {
			return d.tokenError(c, " after object key")
		}
		d.pos++
		if am != nil {
			var x any
			if err := d.value(reflect.ValueOf(&x).Elem(), anyInfo); err != nil {
				return err
			}
			am[key] = x
		} else if err := d.value(fv, fti); err != nil {
			return err
		}
		d.path = d.path[:len(d.path)-1]
		if k == kindMap && v.IsValid() {
			if kv, ok := d.mapKey(ti, key); ok {
				v.SetMapIndex(kv, fv)
			}
		}
		if more, err := d.more('}', " after object key:value pair"); !more {
			return err
		}
	}
}

// more reads what follows a member or an element: a comma (more follow) or
// closing (the last one). context describes the place for a syntax error.
func (d *decoder) more(closing byte, context string) (bool, error) {
	c, ok := d.peek()
	if !ok {
		return false, d.eof()
	}
	switch c {
	case ',':
		d.pos++
		return true, nil
	case closing:
		d.pos++
		return false, nil
	}
	return false, d.tokenError(c, context)
}

// mapKey converts member name key to a key of map type ti. A name that is
// not a number for an integer key is a wrong type, reported at the map.
func (d *decoder) mapKey(ti *typeInfo, key string) (reflect.Value, bool) {
	kt := ti.typ.Key()
	kv := reflect.New(kt).Elem()
	if ti.key == nil {
		kv.SetString(key)
		return kv, true
	}
	if ti.key.kind == kindInt {
		n, err := strconv.ParseInt(key, 10, 64)
		if err == nil && !kv.OverflowInt(n) {
			kv.SetInt(n)
			return kv, true
		}
	} else {
		n, err := strconv.ParseUint(key, 10, 64)
		if err == nil && !kv.OverflowUint(n) {
			kv.SetUint(n)
			return kv, true
		}
	}
	d.badNumber(kt, []byte(key))
	return reflect.Value{}, false
}

// fieldOf returns the field of struct v at index, allocating the embedded
// structs it goes through.
func fieldOf(v reflect.Value, index []int) (reflect.Value, *Error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, &Error{Kind: ErrInvalid,
						msg: "request body is invalid: cannot set embedded pointer to unexported struct: " + v.Type().Elem().String()}
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

// array reads the elements of an array whose '[' was just read.
func (d *decoder) array(v reflect.Value, ti *typeInfo) error {
	k := kindOpaque
	if ti != nil {
		k = ti.kind
	}
	var av []any
	switch k {
	case kindSlice, kindBytes, kindArray:
	case kindAny:
		if v.IsValid() {
			av = []any{}
		}
	default:
		if ti != nil && v.IsValid() {
			d.mismatch(ti.typ)
		}
		ti, k = nil, kindOpaque
	}
	n := 0
	defer func() {
		if !v.IsValid() {
			return
		}
		switch k {
		case kindSlice, kindBytes:
			if v.IsNil() {
				v.Set(reflect.MakeSlice(ti.typ, 0, 0))
			}
		case kindArray:
			for i := n; i < v.Len(); i++ {
				v.Index(i).SetZero()
			}
		case kindAny:
			v.Set(reflect.ValueOf(av))
		}
	}()
	c, ok := d.peek()
	if !ok {
		return d.eof()
	}
	if c == ']' {
		d.pos++
		return nil
	}
	for {
		d.path = append(d.path, step{index: n})
		var err error
		switch k {
		case kindSlice, kindBytes:
			var ev reflect.Value
			if v.IsValid() {
				if n >= v.Cap() {
					v.Grow(1)
				}
				v.SetLen(n + 1)
				ev = v.Index(n)
				ev.SetZero()
			}
			err = d.value(ev, ti.elem)
		case kindArray:
			var ev reflect.Value
			if v.IsValid() && n < v.Len() {
				ev = v.Index(n)
			}
			err = d.value(ev, ti.elem)
		case kindAny:
			if av == nil {
				err = d.value(reflect.Value{}, anyInfo)
				break
			}
			var x any
			err = d.value(reflect.ValueOf(&x).Elem(), anyInfo)
			av = append(av, x)
		default:
			err = d.value(reflect.Value{}, nil)
		}
		if err != nil {
			return err
		}
		n++
		d.path = d.path[:len(d.path)-1]
		if more, err := d.more(']', " after array element"); !more {
			return err
		}
	}
}

var anyInfo = infoOf(reflect.TypeFor[any]())

func (d *decoder) storeString(v reflect.Value, ti *typeInfo, s str) error {
	if ti == nil || !v.IsValid() {
		return nil
	}
	switch ti.kind {
	case kindString:
		v.SetString(string(d.bytes(s)))
	case kindAny:
		v.Set(reflect.ValueOf(string(d.bytes(s))))
	case kindBytes:
		src := d.bytes(s)
		b := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
		n, err := base64.StdEncoding.Decode(b, src)
		if err != nil {
			if d.typeErr == nil {
				d.typeErr = &Error{Kind: ErrInvalid, Field: render(d.path), cause: err, msg: "request body is invalid: " + err.Error()}
			}
			return nil
		}
		v.SetBytes(b[:n])
	default:
		d.mismatch(ti.typ)
	}
	return nil
}

func (d *decoder) storeNumber(v reflect.Value, ti *typeInfo, num []byte) {
	switch ti.kind {
	case kindInt:
		n, ok := parseInt(num)
		if !ok || v.OverflowInt(n) {
			d.badNumber(ti.typ, num)
			return
		}
		v.SetInt(n)
	case kindUint:
		n, err := strconv.ParseUint(string(num), 10, 64)
		if err != nil || v.OverflowUint(n) {
			d.badNumber(ti.typ, num)
			return
		}
		v.SetUint(n)
	case kindFloat:
		f, err := strconv.ParseFloat(string(num), ti.typ.Bits())
		if err != nil || v.OverflowFloat(f) {
			d.badNumber(ti.typ, num)
			return
		}
		v.SetFloat(f)
	case kindAny:
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil {
			d.badNumber(reflect.TypeFor[float64](), num)
			return
		}
		v.Set(reflect.ValueOf(f))
	default:
		d.mismatch(ti.typ)
	}
}

// parseInt parses a JSON number that is an integer in int64's range.
func parseInt(num []byte) (int64, bool) {
	neg := num[0] == '-'
	digits := num
	if neg {
		digits = num[1:]
	}
	if len(digits) == 0 || len(digits) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false // a fraction or an exponent
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return -int64(u), true
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

// mismatch records that the value at the current path is of a JSON type
// that Go type t does not take.
func (d *decoder) mismatch(t reflect.Type) {
	if d.typeErr == nil {
		d.typeErr = d.fail(ErrType, "%s must be "+kindWord(t))
	}
}

// badNumber records that number num does not fit type t.
func (d *decoder) badNumber(t reflect.Type, num []byte) {
	if d.typeErr != nil {
		return
	}
	f, err := strconv.ParseFloat(string(num), 64)
	integral := err == nil && f == math.Trunc(f)
	var inRange bool
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		limit := math.Ldexp(1, t.Bits()-1)
		inRange = integral && -limit <= f && f < limit
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		inRange = integral && 0 <= f && f < math.Ldexp(1, t.Bits())
	}
	switch {
	case inRange:
		d.typeErr = d.fail(ErrType, "%s must be an integer without a fraction or exponent")
	case err == nil && !integral && t.Kind() != reflect.Float32 && t.Kind() != reflect.Float64:
		d.typeErr = d.fail(ErrType, "%s must be an integer")
	default:
		d.typeErr = d.fail(ErrRange, "%s is out of range")
	}
}

// kindWord names the JSON type that Go type t takes, for messages.
func kindWord(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a different JSON value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	default:
		return "a different JSON value"
	}
}

// opaque checks a value for a type that encoding/json decodes (see the
// package documentation), then has it decoded.
func (d *decoder) opaque(v reflect.Value, ti *typeInfo) error {
	d.peek()
	start := d.pos
	if err := d.value(reflect.Value{}, ti.check); err != nil {
		return err
	}
	if !v.IsValid() || !v.CanAddr() || d.refusal != nil {
		return nil
	}
	err := json.Unmarshal(d.data[start:d.pos], v.Addr().Interface())
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		if d.typeErr == nil {
			path := render(d.path)
			if te.Field != "" {
				path = strings.TrimPrefix(path+"."+te.Field, ".")
			}
			saved := d.path
			d.path = []step{{key: path, index: -1}}
			if num, ok := strings.CutPrefix(te.Value, "number "); ok {
				d.badNumber(te.Type, []byte(num))
			} else {
				d.mismatch(te.Type)
			}
			d.path = saved
			d.typeErr.Field = path
		}
		return nil
	default:
		d.refusal = &Error{Kind: ErrInvalid, Field: render(d.path), cause: err,
			msg: "request body is invalid: " + strings.TrimPrefix(err.Error(), "json: ")}
		return nil
	}
}

// keySet is the set of names given in an object.
type keySet struct {
	few  [8]string
	n    int
	many map[string]struct{}
}

// add adds name and reports whether it was there already.
func (s *keySet) add(name string) bool {
	if s.many != nil {
		if _, ok := s.many[name]; ok {
			return true
		}
		s.many[name] = struct{}{}
		return false
	}
	for _, k := range s.few[:s.n] {
		if k == name {
			return true
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = name
		s.n++
		return false
	}
	s.many = make(map[string]struct{}, 2*len(s.few))
	for _, k := range s.few {
		s.many[k] = struct{}{}
	}
	s.many[name] = struct{}{}
	return false
}
