package history

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// typ reads the type field without allocating.
func (p *lineParser) typ() (Type, error) {
	if !p.more() {
		return "", p.eof(`field "type" has no value`)
	}
	if p.line[p.pos] != '"' {
		return "", p.errf("field %q must be a string", "type")
	}
	b, err := p.rawStr()
	if err != nil {
		return "", prefixed(`field "type"`, err)
	}
	switch string(b) {
	case "invoke":
		return Invoke, nil
	case "ok":
		return Ok, nil
	case "fail":
		return Fail, nil
	case "info":
		return Info, nil
	}
	return "", p.errf("unknown type %q (want invoke, ok, fail or info)", b)
}

// text reads a string field and interns it. With optional set, null reads
// as "".
func (p *lineParser) text(name string, optional bool) (string, error) {
	if !p.more() {
		return "", p.eof(fmt.Sprintf("field %q has no value", name))
	}
	if p.line[p.pos] != '"' {
		if optional && p.null() {
			return "", nil
		}
		if p.nullCutShort() {
			return "", p.eof("a value is cut short")
		}
		return "", p.errf("field %q must be a string", name)
	}
	b, err := p.rawStr()
	if err != nil {
		return "", prefixed("field "+strconv.Quote(name), err)
	}
	return p.intern(b), nil
}

// intern returns the one string of the history with the bytes b. A few
// recent strings are compared first: a history repeats the same keys and
// fs line after line, and comparing a short string is cheaper than hashing
// it.
func (p *lineParser) intern(b []byte) string {
	for _, s := range p.recent {
		if s == string(b) {
			return s
		}
	}
	s, ok := p.strs[string(b)]
	if !ok {
		s = string(b)
		p.strs[s] = s
	}
	p.recent[p.next] = s
	p.next = (p.next + 1) % len(p.recent)
	return s
}

// rawStr reads a JSON string at p.pos and returns its decoded bytes, which
// stay valid until the next call. It refuses invalid UTF-8 and lone
// surrogates, which would not survive decoding unchanged.
func (p *lineParser) rawStr() ([]byte, error) {
	p.pos++ // the opening quote
	start := p.pos
	var high byte // the bits of every byte: below 0x80, the string is ASCII
	for p.pos < len(p.line) {
		c := p.line[p.pos]
		high |= c
		switch {
		case c == '"':
			b := p.line[start:p.pos]
			p.pos++
			if high >= utf8.RuneSelf && !utf8.Valid(b) {
				return nil, &parseError{msg: "invalid UTF-8 in a string"}
			}
			return b, nil
		case c == '\\':
			return p.escapedStr(start)
		case c < 0x20:
			return nil, &parseError{msg: fmt.Sprintf("invalid JSON: control character %#x in a string", c)}
		}
		p.pos++
	}
	return nil, p.eof("a string is not closed")
}

// escapedStr finishes a string that holds escapes, unescaping it into
// p.buf.
func (p *lineParser) escapedStr(start int) ([]byte, error) {
	p.buf = append(p.buf[:0], p.line[start:p.pos]...)
	for p.pos < len(p.line) {
		c := p.line[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(p.buf) {
				return nil, &parseError{msg: "invalid UTF-8 in a string"}
			}
			return p.buf, nil
		case c < 0x20:
			return nil, &parseError{msg: fmt.Sprintf("invalid JSON: control character %#x in a string", c)}
		case c != '\\':
			p.buf = append(p.buf, c)
			p.pos++
			continue
		}
		p.pos++
		if !p.more() {
			return nil, p.eof("a string is not closed")
		}
		e := p.line[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			p.buf = append(p.buf, e)
		case 'b':
			p.buf = append(p.buf, '\b')
		case 'f':
			p.buf = append(p.buf, '\f')
		case 'n':
			p.buf = append(p.buf, '\n')
		case 'r':
			p.buf = append(p.buf, '\r')
		case 't':
			p.buf = append(p.buf, '\t')
		case 'u':
			r, err := p.hex4()
			if err != nil {
				return nil, err
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(p.line)-p.pos >= 2 && p.line[p.pos] == '\\' && p.line[p.pos+1] == 'u' {
					p.pos += 2
					if r2, err = p.hex4(); err != nil {
						return nil, err
					}
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return nil, &parseError{msg: "a lone UTF-16 surrogate in a string escape"}
				}
			}
			p.buf = utf8.AppendRune(p.buf, r)
		default:
			return nil, &parseError{msg: fmt.Sprintf("invalid JSON: bad escape \\%c in a string", e)}
		}
	}
	return nil, p.eof("a string is not closed")
}

func (p *lineParser) hex4() (rune, error) {
	if len(p.line)-p.pos < 4 {
		for _, c := range p.line[p.pos:] {
			if !isHex(c) {
				return 0, &parseError{msg: "invalid JSON: bad \\u escape in a string"}
			}
		}
		return 0, p.eof("a string is not closed")
	}
	var r rune
	for _, c := range p.line[p.pos : p.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, &parseError{msg: "invalid JSON: bad \\u escape in a string"}
		}
	}
	p.pos += 4
	return r, nil
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
