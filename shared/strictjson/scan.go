package strictjson

import (
	"unicode/utf16"
	"unicode/utf8"
)

// The scanner: white space, and the scalars (strings, numbers, literals),
// which are checked by encoding/json's grammar and reported with its
// messages.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// peek skips white space and returns the next byte; ok is false at the end.
func (d *decoder) peek() (c byte, ok bool) {
	for d.pos < len(d.data) {
		if c := d.data[d.pos]; !isSpace(c) {
			return c, true
		}
		d.pos++
	}
	return 0, false
}

// eof is the error for a text that ends too early.
func (d *decoder) eof() *Error {
	return d.syntaxError("unexpected end of JSON input", len(d.data))
}

// tokenError is the error for byte c at d.pos where context says what was
// expected (it starts with a space, or is empty).
func (d *decoder) tokenError(c byte, context string) *Error {
	return d.syntaxError("invalid character "+quoteChar(c)+context, d.pos)
}

// scalarError is the error for byte c at index at, inside the scalar that
// starts at start. encoding/json counts the offset in the bytes its scanner
// has read, which are those of the scalars only.
func (d *decoder) scalarError(c byte, context string, start, at int) *Error {
	return d.syntaxError("invalid character "+quoteChar(c)+" "+context, d.scalars+at-start+1)
}

// scalarEnd records that a scalar ends at end and moves past it.
func (d *decoder) scalarEnd(start, end int) {
	d.scalars += end - start
	d.pos = end
}

// str is a scanned JSON string: data[start:end] with its quotes.
type str struct {
	start, end int
	escaped    bool // holds an escape: unescape before use
	valid      bool // valid UTF-8, every surrogate escape paired
}

// scanString scans the string at d.pos and moves past it.
func (d *decoder) scanString() (str, *Error) {
	data := d.data
	start := d.pos
	s := str{start: start, valid: true}
	i := start + 1
	for {
		// The common case first: plain ASCII.
		for i < len(data) && data[i] >= 0x20 && data[i] < utf8.RuneSelf && data[i] != '"' && data[i] != '\\' {
			i++
		}
		if i >= len(data) {
			return s, d.eof()
		}
		switch c := data[i]; {
		case c == '"':
			s.end = i + 1
			d.scalarEnd(start, s.end)
			return s, nil
		case c == '\\':
			s.escaped = true
			if i+1 >= len(data) {
				return s, d.eof()
			}
			switch data[i+1] {
			case 'b', 'f', 'n', 'r', 't', '\\', '/', '"':
				i += 2
			case 'u':
				for j := i + 2; j < i+6; j++ {
					if j >= len(data) {
						return s, d.eof()
					}
					if hexVal(data[j]) < 0 {
						return s, d.scalarError(data[j], `in \u hexadecimal character escape`, start, j)
					}
				}
				r := hex4(data[i+2:])
				i += 6
				if !utf16.IsSurrogate(r) {
					continue
				}
				if r < 0xDC00 && i+6 <= len(data) && data[i] == '\\' && data[i+1] == 'u' {
					if r2 := hex4(data[i+2:]); r2 >= 0xDC00 && r2 <= 0xDFFF {
						i += 6
						continue
					}
				}
				s.valid = false
			default:
				return s, d.scalarError(data[i+1], "in string escape code", start, i+1)
			}
		case c < 0x20:
			return s, d.scalarError(c, "in string literal", start, i)
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				s.valid = false
			}
			i += size
		}
	}
}

// bytes returns the string's contents, unescaped into d.buf if need be (valid
// until the next call).
func (d *decoder) bytes(s str) []byte {
	raw := d.data[s.start+1 : s.end-1]
	if !s.escaped {
		return raw
	}
	b := d.buf[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(raw[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				// Paired: scanString refuses the rest before this is used.
				r = utf16.DecodeRune(r, hex4(raw[i+2:]))
				i += 6
			}
			b = utf8.AppendRune(b, r)
			continue
		default: // \\ \/ \"
			b = append(b, raw[i+1])
		}
		i += 2
	}
	d.buf = b
	return b
}

func hexVal(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		v := hexVal(c)
		if v < 0 {
			return -1
		}
		r = r<<4 | v
	}
	return r
}

// scanNumber scans the number at d.pos, moves past it and returns its text.
func (d *decoder) scanNumber() ([]byte, *Error) {
	data := d.data
	start := d.pos
	i := start
	digits := func() {
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	}
	if data[i] == '-' {
		i++
		if i >= len(data) {
			return nil, d.eof()
		}
		if c := data[i]; c < '0' || c > '9' {
			return nil, d.scalarError(c, "in numeric literal", start, i)
		}
	}
	if data[i] == '0' {
		i++
	} else {
		digits()
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) {
			return nil, d.eof()
		}
		if c := data[i]; c < '0' || c > '9' {
			return nil, d.scalarError(c, "after decimal point in numeric literal", start, i)
		}
		digits()
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) {
			return nil, d.eof()
		}
		if c := data[i]; c < '0' || c > '9' {
			return nil, d.scalarError(c, "in exponent of numeric literal", start, i)
		}
		digits()
	}
	d.scalarEnd(start, i)
	return data[start:i], nil
}

// scanLiteral scans true, false or null at d.pos, whose first byte was read
// as word's, and moves past it.
func (d *decoder) scanLiteral(word string) *Error {
	start := d.pos
	for k := 1; k < len(word); k++ {
		i := start + k
		if i >= len(d.data) {
			return d.eof()
		}
		if c := d.data[i]; c != word[k] {
			return d.scalarError(c, "in literal "+word+" (expecting '"+word[k:k+1]+"')", start, i)
		}
	}
	d.scalarEnd(start, start+len(word))
	return nil
}
