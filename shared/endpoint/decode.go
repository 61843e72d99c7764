package endpoint

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxBodySize is the largest request body the contract accepts: 64 KiB.
const MaxBodySize = 64 << 10

// maxDepth bounds how deeply a request body may nest. The contract's requests
// nest three levels at most; the bound keeps error paths short.
const maxDepth = 32

// Decode decodes a request body into a new Req by the contract's rules, then
// validates it if *Req has a method Validate() error. Every failure is an
// *Error whose message names the offending field:
//
//   - a body over MaxBodySize is 413 too_large;
//   - an empty body is read as {}, so validation reports the missing fields;
//   - the body must be exactly one JSON object: malformed JSON, any other
//     value, or data after the object is 400;
//   - a string holding invalid UTF-8 (or a lone UTF-16 surrogate escape) is
//     400 "<field> must be valid UTF-8": encoding/json would silently turn
//     it into U+FFFD;
//   - a field that Req does not declare, spelled with another case, or given
//     twice is 400 "<field>: unknown field" / "<field>: duplicate field";
//   - a value of the wrong JSON type is 400 "<field> must be an integer" (or
//     a string, …); a number that does not fit is 400 "<field> is out of range";
//   - Validate's error is returned as is if it is an *Error, as 400 otherwise.
//
// Field paths look like items[2].quantity.
func Decode[Req any](body []byte) (*Req, error) {
	if len(body) > MaxBodySize {
		return nil, tooLarge("request body is %d bytes, limit is %d", len(body), MaxBodySize)
	}
	if len(trimSpace(body)) == 0 {
		body = []byte("{}")
	}
	t := reflect.TypeFor[Req]()
	if err := check(body, t); err != nil {
		return nil, err
	}
	req := new(Req)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		return nil, decodeError(body, t, err)
	}
	if v, ok := any(req).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			var e *Error
			if errors.As(err, &e) {
				return nil, e
			}
			return nil, Invalid("%s", err.Error())
		}
	}
	return req, nil
}

// check walks the body's tokens and reports what encoding/json would either
// accept silently (invalid UTF-8, duplicate or case-folded field names) or
// report without the field's full path (unknown fields).
func check(data []byte, t reflect.Type) *Error {
	w := walker{data: data, target: -1}
	_, err := w.run(t)
	return err
}

// pathAt returns the path of the innermost value around byte offset, as
// reported by json.UnmarshalTypeError.Offset: the end of a scalar, or just
// after the opening bracket of an object or array. data must pass check.
func pathAt(data []byte, t reflect.Type, offset int64) string {
	w := walker{data: data, target: offset}
	path, _ := w.run(t)
	return path
}

// walker follows a JSON text token by token, tracking the path to the
// current value and the Go type expected there.
type walker struct {
	data   []byte
	stack  []frame
	target int64 // offset to locate, or -1 to check only
}

// frame is one open object or array.
type frame struct {
	object    bool
	start     int64                   // offset before the opening bracket
	fields    map[string]reflect.Type // struct object: its JSON fields
	elem      reflect.Type            // array or map: element type; nil if not known
	key       string                  // object: the current member's name
	child     reflect.Type            // object: the current member's type
	index     int                     // array: the current element's index
	expectKey bool
	seen      map[string]struct{}
}

func (w *walker) run(root reflect.Type) (string, *Error) {
	dec := json.NewDecoder(bytes.NewReader(w.data))
	dec.UseNumber()
	var prev int64 // offset after the previous token
	for first := true; ; first = false {
		tok, err := dec.Token()
		if err != nil {
			return "", w.malformed(err, prev)
		}
		end := dec.InputOffset()
		start := prev
		prev = end
		if first {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return "", Invalid("request body must be a JSON object")
			}
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				if len(w.stack) == maxDepth {
					return "", Invalid("request body nests deeper than %d levels", maxDepth)
				}
				f := frame{object: tok == '{', start: start, index: -1, expectKey: tok == '{'}
				t := w.begin(root)
				if t = concrete(t); t != nil {
					switch {
					case f.object && t.Kind() == reflect.Struct:
						f.fields = fieldsOf(t)
					case f.object && t.Kind() == reflect.Map,
						!f.object && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
						f.elem = t.Elem()
					}
				}
				w.stack = append(w.stack, f)
			case '}', ']':
				f := w.stack[len(w.stack)-1]
				w.stack = w.stack[:len(w.stack)-1]
				if f.start < w.target && w.target <= end {
					return w.path(len(w.stack)), nil
				}
				if len(w.stack) == 0 {
					return "", w.finish(dec, end)
				}
				w.end()
			}
		case string:
			top := &w.stack[len(w.stack)-1]
			if top.object && top.expectKey {
				if err := w.key(top, tok, w.data[start:end]); err != nil {
					return "", err
				}
				continue
			}
			w.begin(root)
			if !validString(quoted(w.data[start:end])) {
				return "", Invalid("%s must be valid UTF-8", w.path(len(w.stack)))
			}
			if start < w.target && w.target <= end {
				return w.path(len(w.stack)), nil
			}
			w.end()
		default:
			w.begin(root)
			if start < w.target && w.target <= end {
				return w.path(len(w.stack)), nil
			}
			w.end()
		}
	}
}

// key records the name of the next member of object f.
func (w *walker) key(f *frame, name string, raw []byte) *Error {
	if !validString(quoted(raw)) {
		if parent := w.path(len(w.stack) - 1); parent != "" {
			return Invalid("%s has a field name that is not valid UTF-8", parent)
		}
		return Invalid("request body has a field name that is not valid UTF-8")
	}
	f.key = name
	f.expectKey = false
	if _, dup := f.seen[name]; dup {
		return Invalid("%s: duplicate field", w.path(len(w.stack)))
	}
	if f.seen == nil {
		f.seen = make(map[string]struct{})
	}
	f.seen[name] = struct{}{}
	if f.fields == nil {
		f.child = f.elem
		return nil
	}
	t, ok := f.fields[name]
	if !ok {
		return Invalid("%s: unknown field", w.path(len(w.stack)))
	}
	f.child = t
	return nil
}

// begin starts a value in the current container and returns its Go type.
func (w *walker) begin(root reflect.Type) reflect.Type {
	if len(w.stack) == 0 {
		return root
	}
	top := &w.stack[len(w.stack)-1]
	if top.object {
		return top.child
	}
	top.index++
	return top.elem
}

// end finishes a value in the current container.
func (w *walker) end() {
	if top := &w.stack[len(w.stack)-1]; top.object {
		top.expectKey = true
	}
}

// finish checks that nothing but white space follows the object.
func (w *walker) finish(dec *json.Decoder, end int64) *Error {
	if _, err := dec.Token(); err == io.EOF {
		return nil
	}
	n := len(w.data) - len(bytes.TrimLeft(w.data[end:], " \t\r\n"))
	return Invalid("malformed JSON at byte %d: unexpected data after the JSON object", n)
}

func (w *walker) malformed(err error, prev int64) *Error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return Invalid("malformed JSON at byte %d: %s", se.Offset, se.Error())
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return Invalid("malformed JSON at byte %d: unexpected end of JSON input", len(w.data))
	default:
		return Invalid("malformed JSON at byte %d: %s", prev, strings.TrimPrefix(err.Error(), "json: "))
	}
}

// path renders the path to the current member of stack[n-1].
func (w *walker) path(n int) string {
	var b strings.Builder
	for _, f := range w.stack[:n] {
		if f.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(fieldName(f.key))
		} else {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.index))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// decodeError turns an encoding/json error into a contract error.
func decodeError(data []byte, t reflect.Type, err error) *Error {
	var (
		e  *Error
		te *json.UnmarshalTypeError
		se *json.SyntaxError
	)
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &te):
		field := pathAt(data, t, te.Offset)
		if field == "" {
			field = te.Field
		}
		if field == "" {
			field = "request body"
		}
		return typeError(field, te)
	case errors.As(err, &se):
		return Invalid("malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		// check finds unknown fields first, with their path; this is the
		// fallback for struct shapes its field resolution does not follow.
		if n, uerr := strconv.Unquote(name); uerr == nil {
			name = n
		}
		return Invalid("%s: unknown field", fieldName(name))
	}
	return Invalid("request body is invalid: %s", strings.TrimPrefix(msg, "json: "))
}

func typeError(field string, te *json.UnmarshalTypeError) *Error {
	t := te.Type
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	num, isNum := strings.CutPrefix(te.Value, "number ")
	if !isNum || t == nil {
		return Invalid("%s must be %s", field, kindWord(t))
	}
	f, err := strconv.ParseFloat(num, 64)
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return Invalid("%s is out of range", field)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		limit := math.Ldexp(1, t.Bits()-1)
		if err == nil && f == math.Trunc(f) && -limit <= f && f < limit {
			return Invalid("%s must be an integer without a fraction or exponent", field)
		}
		if err == nil && f != math.Trunc(f) {
			return Invalid("%s must be an integer", field)
		}
		return Invalid("%s is out of range", field)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		limit := math.Ldexp(1, t.Bits())
		if err == nil && f == math.Trunc(f) && 0 <= f && f < limit {
			return Invalid("%s must be an integer without a fraction or exponent", field)
		}
		if err == nil && f != math.Trunc(f) {
			return Invalid("%s must be an integer", field)
		}
		return Invalid("%s is out of range", field)
	}
	return Invalid("%s must be %s", field, kindWord(t))
}

func kindWord(t reflect.Type) string {
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

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// concrete strips pointers from t; it returns nil when the shape of the JSON
// under t is not known from t alone (interfaces, custom unmarshalers).
func concrete(t reflect.Type) reflect.Type {
	for t != nil {
		if t.Kind() == reflect.Interface ||
			reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
			reflect.PointerTo(t).Implements(textUnmarshaler) {
			return nil
		}
		if t.Kind() != reflect.Pointer {
			return t
		}
		t = t.Elem()
	}
	return nil
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// fieldsOf returns the JSON field names of struct type t and their types,
// following encoding/json's rules for tags, unexported and embedded fields
// (a shallower field hides a deeper one of the same name).
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	fields := make(map[string]reflect.Type)
	collectFields(t, 0, fields, make(map[string]int), map[reflect.Type]bool{})
	fieldCache.Store(t, fields)
	return fields
}

func collectFields(t reflect.Type, depth int, fields map[string]reflect.Type, depthOf map[string]int, visiting map[reflect.Type]bool) {
	if visiting[t] {
		return
	}
	visiting[t] = true
	defer delete(visiting, t)
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if !f.IsExported() && et.Kind() != reflect.Struct {
				continue
			}
			if name == "" && et.Kind() == reflect.Struct {
				collectFields(et, depth+1, fields, depthOf, visiting)
				continue
			}
		} else if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if d, ok := depthOf[name]; ok && d <= depth {
			continue
		}
		fields[name] = f.Type
		depthOf[name] = depth
	}
}

// quoted returns the contents of the JSON string that ends raw: raw runs from
// the end of the previous token, so it may start with white space, ':' or ','.
func quoted(raw []byte) []byte {
	q := bytes.IndexByte(raw, '"')
	if q < 0 || len(raw)-q < 2 {
		return nil
	}
	return raw[q+1 : len(raw)-1]
}

// validString reports whether the contents of a syntactically valid JSON
// string are valid UTF-8, with every \u escape of a surrogate paired.
func validString(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '\\':
			if i+1 < len(b) && b[i+1] == 'u' {
				r := hex4(b[i+2:])
				if !utf16.IsSurrogate(r) {
					i += 6
					continue
				}
				if r >= 0xDC00 || i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
					return false
				}
				if r2 := hex4(b[i+8:]); r2 < 0xDC00 || r2 > 0xDFFF {
					return false
				}
				i += 12
				continue
			}
			i += 2
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			i += size
		}
	}
	return true
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// fieldName renders a JSON member name for a message: as is when it is a
// plain identifier, quoted and shortened otherwise (it may be anything the
// client sent, and messages travel in a NATS header).
func fieldName(name string) string {
	plain := name != "" && len(name) <= 64
	for i := 0; plain && i < len(name); i++ {
		c := name[i]
		plain = c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	if plain {
		return name
	}
	if len(name) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + "…"
	}
	return strconv.Quote(name)
}

// trimSpace trims JSON white space.
func trimSpace(b []byte) []byte {
	return bytes.Trim(b, " \t\r\n")
}
