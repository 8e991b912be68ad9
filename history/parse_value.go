package history

import (
	"fmt"
	"unicode/utf8"
)

// skipValue consumes one JSON value of any kind at p.pos and checks its
// syntax: the "value" field is a payload that the reader keeps as it is
// written. Its strings must be valid UTF-8, like every string of a line.
func (p *lineParser) skipValue(depth int) error {
	if depth > maxDepth {
		return p.errf("invalid JSON: a value nested more than %d deep", maxDepth)
	}
	if !p.more() {
		return p.eof("a value is missing")
	}
	switch c := p.line[p.pos]; {
	case c == '{':
		return p.skipContainer('}', depth)
	case c == '[':
		return p.skipContainer(']', depth)
	case c == '"':
		return p.skipStr()
	case c == '-' || isDigit(c):
		return p.number()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return p.errf("invalid JSON: want a value at byte %d", p.pos+1)
}

// skipContainer consumes an object (closed by '}') or an array (']').
func (p *lineParser) skipContainer(end byte, depth int) error {
	p.pos++
	for first := true; ; first = false {
		p.skipSpace()
		if !p.more() {
			return p.eof("a value is not closed")
		}
		if first && p.line[p.pos] == end {
			p.pos++
			return nil
		}
		if end == '}' {
			if p.line[p.pos] != '"' {
				return p.errf("invalid JSON: want a field name at byte %d", p.pos+1)
			}
			if err := p.skipStr(); err != nil {
				return err
			}
			p.skipSpace()
			if !p.more() {
				return p.eof("a value is not closed")
			}
			if p.line[p.pos] != ':' {
				return p.errf("invalid JSON: want ':' at byte %d", p.pos+1)
			}
			p.pos++
			p.skipSpace()
		}
		if err := p.skipValue(depth + 1); err != nil {
			return err
		}
		p.skipSpace()
		if !p.more() {
			return p.eof("a value is not closed")
		}
		c := p.line[p.pos]
		p.pos++
		if c == end {
			return nil
		}
		if c != ',' {
			return p.errf("invalid JSON: want ',' or '%c' at byte %d", end, p.pos)
		}
	}
}

// skipStr consumes a string inside a value: its escapes must be well
// formed and its bytes valid UTF-8.
func (p *lineParser) skipStr() error {
	p.pos++
	start := p.pos
	for p.pos < len(p.line) {
		c := p.line[p.pos]
		switch {
		case c == '"':
			if !utf8.Valid(p.line[start:p.pos]) {
				return &parseError{msg: "invalid UTF-8 in a string of the value"}
			}
			p.pos++
			return nil
		case c < 0x20:
			return &parseError{msg: fmt.Sprintf("invalid JSON: control character %#x in a string", c)}
		case c == '\\':
			p.pos++
			if !p.more() {
				return p.eof("a string is not closed")
			}
			switch p.line[p.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.pos++
			case 'u':
				p.pos++
				if _, err := p.hex4(); err != nil {
					return err
				}
			default:
				return &parseError{msg: fmt.Sprintf("invalid JSON: bad escape \\%c in a string", p.line[p.pos])}
			}
			continue
		}
		p.pos++
	}
	return p.eof("a string is not closed")
}

// literal consumes true, false or null.
func (p *lineParser) literal(word string) error {
	rest := p.line[p.pos:]
	if len(rest) >= len(word) && string(rest[:len(word)]) == word {
		p.pos += len(word)
		return nil
	}
	if len(rest) < len(word) && string(rest) == word[:len(rest)] {
		return p.eof("a value is cut short")
	}
	return p.errf("invalid JSON: want a value at byte %d", p.pos+1)
}
