package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrMalformed is wrapped by every error about the content of a history, so
// that callers can tell bad input (exit 3) from I/O failures.
var ErrMalformed = errors.New("malformed history")

// A LineError locates a problem in a history file.
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Unwrap lets errors.Is(err, ErrMalformed) hold for every LineError.
func (e *LineError) Unwrap() error { return ErrMalformed }

// maxLine bounds one history line; a longer one is reported, not read.
const maxLine = 16 << 20

// ReadFile reads and validates the history at path.
func ReadFile(path string) (History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	defer f.Close()
	return Read(f, path)
}

// Read reads a history in JSON Lines form from r and validates it as it goes.
// name is used in error messages (usually the file path). Blank lines are
// skipped. Validation follows docs/history.md: indexes strictly increase,
// times never go backwards, types are known, every completion matches an
// outstanding invoke of its process, and a process that got an info never
// issues another op.
func Read(r io.Reader, name string) (History, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	v := NewValidator(name)
	var h History
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			v.line++
			continue
		}
		op, err := v.Parse(line)
		if err != nil {
			return h, err
		}
		h = append(h, op)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return h, &LineError{File: name, Line: v.line + 1, Msg: fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		return h, fmt.Errorf("read %s: %w", name, err)
	}
	return h, nil
}

// A Validator checks ops one at a time against the rules of the format. The
// recorder uses it too, so that the harness can never write a history that
// the reader would refuse.
type Validator struct {
	name        string
	line        int
	lastIndex   int
	lastTime    int64
	outstanding map[int]string // process -> f of its outstanding invoke
	retired     map[int]bool   // process -> got an info
}

// NewValidator returns a validator whose errors name the given file.
func NewValidator(name string) *Validator {
	return &Validator{name: name, lastIndex: -1, outstanding: map[int]string{}, retired: map[int]bool{}}
}

// Parse decodes one line and checks it. It counts lines, so call it (or skip
// blank lines through Read) once per line.
func (v *Validator) Parse(line []byte) (Op, error) {
	v.line++
	var op Op
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&op); err != nil {
		return op, v.errf("invalid JSON: %v", err)
	}
	if dec.More() {
		return op, v.errf("more than one JSON value on the line")
	}
	if err := requireFields(line); err != nil {
		return op, v.errf("%v", err)
	}
	return op, v.Check(op)
}

// requireFields checks that the mandatory fields are present, so that a
// missing "process" is not silently read as process 0.
func requireFields(line []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return fmt.Errorf("invalid JSON object: %v", err)
	}
	for _, f := range []string{"index", "time", "process", "type", "f"} {
		if _, ok := m[f]; !ok {
			return fmt.Errorf("missing field %q", f)
		}
	}
	return nil
}

// Check validates op as the next op of the history.
func (v *Validator) Check(op Op) error {
	if !op.Type.Valid() {
		return v.errf("unknown type %q (want invoke, ok, fail or info)", op.Type)
	}
	if op.F == "" {
		return v.errf("empty f")
	}
	if op.Index <= v.lastIndex {
		return v.errf("index %d does not increase (previous %d)", op.Index, v.lastIndex)
	}
	if op.Time < v.lastTime {
		return v.errf("time %d goes backwards (previous %d)", op.Time, v.lastTime)
	}
	if op.Time < 0 {
		return v.errf("negative time %d", op.Time)
	}
	if op.Process < NemesisProcess {
		return v.errf("process %d is neither a client (>= 0) nor the nemesis (-1)", op.Process)
	}
	if op.TTL < 0 {
		return v.errf("negative ttl %d", op.TTL)
	}
	v.lastIndex, v.lastTime = op.Index, op.Time
	if op.IsNemesis() {
		return nil // nemesis events are not paired
	}
	p := op.Process
	if v.retired[p] {
		return v.errf("process %d issued an op after an info completion; a client carries on under a new process id", p)
	}
	switch op.Type {
	case Invoke:
		if f, ok := v.outstanding[p]; ok {
			return v.errf("process %d invoked %s while its %s is outstanding", p, op.F, f)
		}
		v.outstanding[p] = op.F
	default:
		f, ok := v.outstanding[p]
		if !ok {
			return v.errf("%s %s of process %d has no outstanding invoke", op.Type, op.F, p)
		}
		if f != op.F {
			return v.errf("%s %s of process %d completes an invoke of %s", op.Type, op.F, p, f)
		}
		delete(v.outstanding, p)
		if op.Type == Info {
			v.retired[p] = true
		}
	}
	return nil
}

func (v *Validator) errf(format string, args ...any) error {
	return &LineError{File: v.name, Line: v.line, Msg: fmt.Sprintf(format, args...)}
}
