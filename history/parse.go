package history

import (
	"fmt"
	"math/bits"
)

// A lineParser decodes one history line into an Op. It is written for this
// flat format, not for JSON in general: the fields are known, so it reads
// them straight into the Op without reflection, and it is strict where
// encoding/json is lenient. It refuses what would silently change a
// history: a duplicate field (encoding/json keeps the last), a string that is
// not valid UTF-8 or holds a lone surrogate (encoding/json turns both into
// U+FFFD, so two different keys become one), a number that is not an
// integer or does not fit in 64 bits, and null for a field that must be
// there. A lineParser reuses its buffers and interns its strings, so one
// instance reads a whole file.
type lineParser struct {
	line []byte
	pos  int
	// strs interns the f, key, node and error strings: a history repeats
	// a few of them millions of times.
	strs map[string]string
	// recent are the strings interned last, in a ring.
	recent [8]string
	next   int
	// buf holds an unescaped string.
	buf []byte
	// arena and tokens are blocks from which values and tokens are
	// handed out.
	arena  []byte
	tokens []int64
	// dropValue leaves client ops' values out of the Op after checking
	// them; the lock checkers never read them.
	dropValue bool
}

func newLineParser() *lineParser { return &lineParser{strs: map[string]string{}} }

// A parseError is a problem with the JSON of one line. end reports that the
// line stopped in the middle of a value, as a line torn by a crash does.
type parseError struct {
	msg string
	end bool
}

func (e *parseError) Error() string { return e.msg }

// maxDepth bounds the nesting of a value, as encoding/json does.
const maxDepth = 10000

// The fields of an op, one bit each.
const (
	fIndex uint16 = 1 << iota
	fTime
	fProcess
	fType
	fF
	fKey
	fValue
	fToken
	fTTL
	fNode
	fError
)

var requiredFields = []struct {
	bit  uint16
	name string
}{{fIndex, "index"}, {fTime, "time"}, {fProcess, "process"}, {fType, "type"}, {fF, "f"}}

// parse decodes line into op, which it resets first.
func (p *lineParser) parse(line []byte, op *Op) error {
	*op = Op{}
	p.line, p.pos = line, 0
	p.skipSpace()
	if !p.more() {
		return p.eof("an empty line")
	}
	if p.line[p.pos] != '{' {
		return p.errf("invalid JSON: the line is not a JSON object")
	}
	p.pos++
	var seen uint16
	var value []byte
	for first := true; ; first = false {
		p.skipSpace()
		if !p.more() {
			return p.eof("the object is not closed")
		}
		if first && p.line[p.pos] == '}' {
			p.pos++
			break
		}
		if p.line[p.pos] != '"' {
			return p.errf("invalid JSON: want a field name at byte %d", p.pos+1)
		}
		nameBytes, err := p.rawStr()
		if err != nil {
			return prefixed("a field name", err)
		}
		bit := fieldBit(nameBytes)
		if bit == 0 {
			return p.errf("unknown field %q (the fields are in docs/history.md)", nameBytes)
		}
		name := fieldNames[bits.TrailingZeros16(bit)]
		p.skipSpace()
		if !p.more() {
			return p.eof("the line ends after a field name")
		}
		if p.line[p.pos] != ':' {
			return p.errf("invalid JSON: want ':' after field %q", name)
		}
		p.pos++
		p.skipSpace()
		if err := p.field(bit, op, &value); err != nil {
			return err
		}
		if seen&bit != 0 {
			return p.errf("duplicate field %q: a history line names each field once", name)
		}
		seen |= bit
		p.skipSpace()
		if !p.more() {
			return p.eof("the object is not closed")
		}
		c := p.line[p.pos]
		p.pos++
		if c == '}' {
			break
		}
		if c != ',' {
			return p.errf("invalid JSON: want ',' or '}' after field %q", name)
		}
	}
	p.skipSpace()
	if p.more() {
		return p.errf("more than one JSON value on the line")
	}
	for _, f := range requiredFields {
		if seen&f.bit == 0 {
			return p.errf("missing field %q", f.name)
		}
	}
	if value != nil && !(p.dropValue && op.Process != NemesisProcess) {
		op.Value = p.keep(value)
	}
	return nil
}

// keep copies b into the parser's arena, which hands out pieces of large
// blocks instead of allocating every value on its own.
func (p *lineParser) keep(b []byte) []byte {
	if len(b) > 4096 {
		return append([]byte(nil), b...)
	}
	if cap(p.arena)-len(p.arena) < len(b) {
		p.arena = make([]byte, 0, 64<<10)
	}
	start := len(p.arena)
	p.arena = append(p.arena, b...)
	return p.arena[start:len(p.arena):len(p.arena)]
}

// token returns a pointer to a new token holding n, from a block of
// tokens.
func (p *lineParser) token(n int64) *int64 {
	if len(p.tokens) == cap(p.tokens) {
		p.tokens = make([]int64, 0, 1024)
	}
	p.tokens = append(p.tokens, n)
	return &p.tokens[len(p.tokens)-1]
}

// fieldNames are the names of the fields, in the order of their bits.
var fieldNames = [...]string{"index", "time", "process", "type", "f", "key", "value", "token", "ttl", "node", "error"}

// fieldBit returns the bit of the field called name, or 0.
func fieldBit(name []byte) uint16 {
	switch string(name) {
	case "index":
		return fIndex
	case "time":
		return fTime
	case "process":
		return fProcess
	case "type":
		return fType
	case "f":
		return fF
	case "key":
		return fKey
	case "value":
		return fValue
	case "token":
		return fToken
	case "ttl":
		return fTTL
	case "node":
		return fNode
	case "error":
		return fError
	}
	return 0
}

// field reads the value of the field with the given bit into op. value
// receives the raw bytes of the "value" field.
func (p *lineParser) field(bit uint16, op *Op, value *[]byte) error {
	name := fieldNames[bits.TrailingZeros16(bit)]
	var err error
	var n int64
	switch bit {
	case fIndex:
		n, err = p.int(name, false)
		op.Index = int(n)
	case fTime:
		op.Time, err = p.int(name, false)
	case fProcess:
		n, err = p.int(name, false)
		op.Process = int(n)
	case fTTL:
		op.Lease, err = p.int(name, true)
	case fToken:
		if p.null() {
			return nil
		}
		if n, err = p.int(name, false); err == nil {
			op.Token = p.token(n)
		}
	case fType:
		op.Type, err = p.typ()
	case fF:
		op.F, err = p.text(name, false)
	case fKey:
		op.Key, err = p.text(name, true)
	case fNode:
		op.Node, err = p.text(name, true)
	case fError:
		op.Error, err = p.text(name, true)
	case fValue:
		start := p.pos
		if err = p.skipValue(0); err == nil {
			*value = p.line[start:p.pos]
		}
	}
	return err
}

func (p *lineParser) more() bool { return p.pos < len(p.line) }

func (p *lineParser) skipSpace() {
	for p.pos < len(p.line) {
		switch p.line[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
		default:
			return
		}
	}
}

// prefixed puts what before the message of a parse error.
func prefixed(what string, err error) error {
	if pe, ok := err.(*parseError); ok {
		return &parseError{msg: what + ": " + pe.msg, end: pe.end}
	}
	return err
}

func (p *lineParser) errf(format string, args ...any) error {
	return &parseError{msg: fmt.Sprintf(format, args...)}
}

// eof reports a line that ends in the middle of its object.
func (p *lineParser) eof(what string) error {
	return &parseError{msg: "invalid JSON: " + what + ": unexpected end of line", end: true}
}

// null consumes a JSON null if one comes next.
func (p *lineParser) null() bool {
	if len(p.line)-p.pos >= 4 && string(p.line[p.pos:p.pos+4]) == "null" {
		p.pos += 4
		return true
	}
	return false
}

// nullCutShort reports that the line ends in the middle of a null.
func (p *lineParser) nullCutShort() bool {
	rest := p.line[p.pos:]
	return len(rest) < 4 && string(rest) == "null"[:len(rest)]
}

// int reads an integer field. With optional set, null reads as 0.
func (p *lineParser) int(name string, optional bool) (int64, error) {
	if !p.more() {
		return 0, p.eof(fmt.Sprintf("field %q has no value", name))
	}
	if p.null() {
		if optional {
			return 0, nil
		}
		return 0, p.errf("field %q is null; it must be an integer", name)
	}
	if p.nullCutShort() {
		return 0, p.eof("a value is cut short")
	}
	if c := p.line[p.pos]; c != '-' && !isDigit(c) {
		return 0, p.errf("field %q must be an integer", name)
	}
	start := p.pos
	if err := p.number(); err != nil {
		return 0, err
	}
	lit := p.line[start:p.pos]
	neg := lit[0] == '-'
	digits := lit
	if neg {
		digits = lit[1:]
	}
	var u uint64
	for _, c := range digits {
		if !isDigit(c) {
			return 0, p.errf("field %q: %s is not an integer", name, lit)
		}
		if u > (1<<63)/10 {
			return 0, p.errf("field %q: %s does not fit in a 64-bit integer", name, lit)
		}
		u = u*10 + uint64(c-'0')
		if u > 1<<63 {
			return 0, p.errf("field %q: %s does not fit in a 64-bit integer", name, lit)
		}
	}
	switch {
	case neg:
		return -int64(u), nil // -(1<<63) wraps to itself: MinInt64
	case u == 1<<63:
		return 0, p.errf("field %q: %s does not fit in a 64-bit integer", name, lit)
	}
	return int64(u), nil
}

// number consumes a JSON number.
func (p *lineParser) number() error {
	start := p.pos
	if p.more() && p.line[p.pos] == '-' {
		p.pos++
	}
	switch {
	case !p.more():
		return p.eof("a number is cut short")
	case p.line[p.pos] == '0':
		p.pos++
	case isDigit(p.line[p.pos]):
		p.digits()
	default:
		if p.pos == start {
			return p.errf("invalid JSON: want a value at byte %d", p.pos+1)
		}
		return p.errf("invalid JSON: bad number at byte %d", start+1)
	}
	if p.more() && p.line[p.pos] == '.' {
		p.pos++
		if err := p.someDigits(start); err != nil {
			return err
		}
	}
	if p.more() && (p.line[p.pos] == 'e' || p.line[p.pos] == 'E') {
		p.pos++
		if p.more() && (p.line[p.pos] == '+' || p.line[p.pos] == '-') {
			p.pos++
		}
		return p.someDigits(start)
	}
	return nil
}

// someDigits consumes the digits of a fraction or an exponent, of which
// there must be one at least, in a number that began at start.
func (p *lineParser) someDigits(start int) error {
	if !p.more() {
		return p.eof("a number is cut short")
	}
	if !isDigit(p.line[p.pos]) {
		return p.errf("invalid JSON: bad number at byte %d", start+1)
	}
	p.digits()
	return nil
}

func (p *lineParser) digits() {
	for p.more() && isDigit(p.line[p.pos]) {
		p.pos++
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
