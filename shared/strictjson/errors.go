package strictjson

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinels, one per kind of failure; every *Error matches exactly one of
// them through errors.Is.
var (
	// ErrSyntax is malformed JSON, or data after the object.
	ErrSyntax = errors.New("malformed JSON")
	// ErrNotObject is a text that holds a JSON value other than an object.
	ErrNotObject = errors.New("not a JSON object")
	// ErrTooDeep is nesting deeper than MaxDepth.
	ErrTooDeep = errors.New("nested too deeply")
	// ErrInvalidUTF8 is a string or field name that is not valid UTF-8, or
	// holds a lone surrogate escape.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	// ErrUnknownField is a member the Go type does not declare (or spells
	// with another case).
	ErrUnknownField = errors.New("unknown field")
	// ErrDuplicateField is a member given twice in one object.
	ErrDuplicateField = errors.New("duplicate field")
	// ErrType is a value of the wrong JSON type, or a number with a fraction
	// or exponent for an integer.
	ErrType = errors.New("wrong JSON type")
	// ErrRange is a number that does not fit its Go type.
	ErrRange = errors.New("number out of range")
	// ErrInvalid is a value that a type decoding its own JSON refused: the
	// *Error wraps that type's error too.
	ErrInvalid = errors.New("invalid value")
)

// Error is a decoding failure. Its message names the offending field, e.g.
// "items[2].quantity must be an integer".
type Error struct {
	// Kind is the sentinel the error matches.
	Kind error
	// Field is the path of the offending value, e.g. "items[2].quantity";
	// empty when the failure is not about one value (syntax, depth, the body
	// as a whole).
	Field string
	// Offset is where a syntax error was found (see the package
	// documentation); 0 for other kinds.
	Offset int64

	msg   string
	cause error
}

// Error returns the message.
func (e *Error) Error() string { return e.msg }

// Unwrap returns the sentinel and, for ErrInvalid, the refusing type's error.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Kind, e.cause}
	}
	return []error{e.Kind}
}

// step is one level of a field path: an object member or an array element.
type step struct {
	key   string
	index int // -1 for an object member
}

// render renders a field path for messages: items[2].quantity.
func render(path []step) string {
	var b strings.Builder
	for _, s := range path {
		if s.index < 0 {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(fieldName(s.key))
		} else {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// fieldName renders a member name for a message: as is when it is a plain
// identifier, quoted and shortened otherwise (it may be anything the client
// sent, and messages travel in a NATS header).
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

// quoteChar renders a byte for a syntax error as encoding/json does.
func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}
