package ingest

import (
	"unicode/utf16"
	"unicode/utf8"
)

// jsonReader is a small pull scanner for the flat JSON objects devices send.
// It does not build values: callers walk objects key by key, read the fields
// they know and skip the rest, so decoding a ping allocates nothing.
//
// The first error sticks: later calls return zero values and callers check
// failed() once at a convenient point. Strings come back as slices of the
// input, or of an internal buffer when they contain escapes; either is valid
// only until the next str/key call.
type jsonReader struct {
	b     []byte
	i     int
	err   string // first syntax error, "" if none
	errAt int
	buf   []byte // unescaped string scratch
}

func (r *jsonReader) reset(b []byte) {
	r.b, r.i, r.err, r.errAt = b, 0, "", 0
}

func (r *jsonReader) failed() bool { return r.err != "" }

func (r *jsonReader) fail(msg string) {
	if r.err == "" {
		r.err, r.errAt = msg, r.i
	}
	r.i = len(r.b)
}

func (r *jsonReader) ws() {
	for r.i < len(r.b) && isSpace(r.b[r.i]) {
		r.i++
	}
}

// peek returns the next non-space byte without consuming it, 0 at the end.
func (r *jsonReader) peek() byte {
	r.ws()
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

// atEnd reports whether only white space is left.
func (r *jsonReader) atEnd() bool { return r.peek() == 0 && r.i >= len(r.b) }

// open consumes c ('{' or '[') or fails.
func (r *jsonReader) open(c byte) bool {
	if r.peek() != c {
		if c == '{' {
			r.fail("expected an object")
		} else {
			r.fail("expected an array")
		}
		return false
	}
	r.i++
	return true
}

// more walks the members of an object or array opened with open: it
// consumes the separating comma and reports whether another member follows,
// or consumes the closing byte and reports false.
func (r *jsonReader) more(first *bool, closing byte) bool {
	c := r.peek()
	if c == closing {
		r.i++
		return false
	}
	if !*first {
		if c != ',' {
			if c == 0 {
				r.fail("unexpected end of JSON")
			} else {
				r.fail("expected ',' or closing bracket")
			}
			return false
		}
		r.i++
	}
	*first = false
	if r.peek() == 0 {
		r.fail("unexpected end of JSON")
		return false
	}
	return true
}

// key reads an object key and its colon.
func (r *jsonReader) key() []byte {
	k := r.str()
	if r.peek() != ':' {
		r.fail("expected ':' after object key")
		return nil
	}
	r.i++
	return k
}

// str reads a string value.
func (r *jsonReader) str() []byte {
	if r.peek() != '"' {
		r.fail("expected a string")
		return nil
	}
	r.i++
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		if c == '"' {
			s := r.b[start:r.i]
			r.i++
			return s
		}
		if c == '\\' {
			return r.strEscaped(start)
		}
		if c < 0x20 {
			r.fail("control character in string")
			return nil
		}
		r.i++
	}
	r.fail("unterminated string")
	return nil
}

// strEscaped continues str once an escape is seen, unescaping into r.buf.
func (r *jsonReader) strEscaped(start int) []byte {
	r.buf = append(r.buf[:0], r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return r.buf
		case c < 0x20:
			r.fail("control character in string")
			return nil
		case c != '\\':
			r.buf = append(r.buf, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.b) {
			break
		}
		e := r.b[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			r.buf = append(r.buf, e)
		case 'b':
			r.buf = append(r.buf, '\b')
		case 'f':
			r.buf = append(r.buf, '\f')
		case 'n':
			r.buf = append(r.buf, '\n')
		case 'r':
			r.buf = append(r.buf, '\r')
		case 't':
			r.buf = append(r.buf, '\t')
		case 'u':
			cp, ok := r.hex4()
			if !ok {
				r.fail("bad \\u escape")
				return nil
			}
			if utf16.IsSurrogate(cp) {
				lo := rune(-1)
				if r.i+1 < len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
					r.i += 2
					lo, _ = r.hex4()
				}
				cp = utf16.DecodeRune(cp, lo)
			}
			r.buf = utf8.AppendRune(r.buf, cp)
		default:
			r.fail("bad escape in string")
			return nil
		}
	}
	r.fail("unterminated string")
	return nil
}

func (r *jsonReader) hex4() (rune, bool) {
	if r.i+4 > len(r.b) {
		return 0, false
	}
	var v rune
	for _, c := range r.b[r.i : r.i+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	r.i += 4
	return v, true
}

// number reads a number value. It also takes a number inside a string
// ("21.41"), which some clients send, and null, which reads as absent.
// present is false for null; ok is false when the value is not a number (the
// reader itself only fails on broken syntax, so callers can name the field).
func (r *jsonReader) number() (v float64, present, ok bool) {
	switch c := r.peek(); {
	case c == 'n':
		r.literal("null")
		return 0, false, !r.failed()
	case c == '"':
		s := r.str()
		if r.failed() {
			return 0, false, false
		}
		v, ok = parseFloat(trimSpace(s))
		return v, true, ok
	case c == '-' || (c >= '0' && c <= '9'):
		start := r.i
		for r.i < len(r.b) && isNumberByte(r.b[r.i]) {
			r.i++
		}
		v, ok = parseFloat(r.b[start:r.i])
		if !ok {
			r.i = start
			r.fail("malformed number")
		}
		return v, true, ok
	default:
		r.skip()
		return 0, true, false
	}
}

// boolean reads true or false; anything else is skipped and reads as false.
func (r *jsonReader) boolean() bool {
	switch r.peek() {
	case 't':
		r.literal("true")
		return !r.failed()
	case 'f':
		r.literal("false")
	default:
		r.skip()
	}
	return false
}

func (r *jsonReader) literal(lit string) {
	if len(r.b)-r.i < len(lit) || string(r.b[r.i:r.i+len(lit)]) != lit {
		r.fail("invalid literal")
		return
	}
	r.i += len(lit)
}

func isNumberByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// skip consumes one value of any kind. It is iterative so that deeply nested
// input cannot exhaust the stack.
func (r *jsonReader) skip() {
	depth := 0
	for {
		c := r.peek()
		switch {
		case c == 0:
			r.fail("unexpected end of JSON")
			return
		case c == '{' || c == '[':
			depth++
			r.i++
		case c == '}' || c == ']':
			if depth == 0 {
				r.fail("unexpected closing bracket")
				return
			}
			depth--
			r.i++
		case c == ',' || c == ':':
			if depth == 0 {
				r.fail("expected a value")
				return
			}
			r.i++
			continue
		case c == '"':
			r.str()
		case c == 't':
			r.literal("true")
		case c == 'f':
			r.literal("false")
		case c == 'n':
			r.literal("null")
		case c == '-' || (c >= '0' && c <= '9'):
			for r.i < len(r.b) && isNumberByte(r.b[r.i]) {
				r.i++
			}
		default:
			r.fail("invalid character")
			return
		}
		if r.failed() || depth == 0 {
			return
		}
	}
}
