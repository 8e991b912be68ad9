package history

import (
	"fmt"
)

// A Validator checks ops one at a time against the rules of the format. The
// recorder uses it too, so that the harness can never write a history that
// the reader would refuse.
type Validator struct {
	name      string
	line      int
	ops       int
	lastIndex int
	lastTime  int64
	procs     procTable
	parser    *lineParser
}

// NewValidator returns a validator whose errors name the given file.
func NewValidator(name string) *Validator {
	return &Validator{name: name, lastIndex: -1}
}

// Parse decodes one line and checks it. It counts lines, so call it (or
// skip blank lines through Read) once per line.
func (v *Validator) Parse(line []byte) (Op, error) {
	v.line++
	if v.parser == nil {
		v.parser = newLineParser()
	}
	var op Op
	if err := v.parser.parse(line, &op); err != nil {
		return op, v.errf("%v", err)
	}
	return op, v.Check(op)
}

// Check validates op as the next op of the history: the first op has
// index 0 and indexes strictly increase, times never go backwards, types
// are known, a client op names its key, every completion matches the
// outstanding invoke of its process in f and key, and a process that got
// an info never issues another op.
func (v *Validator) Check(op Op) error {
	if !op.Type.Valid() {
		return v.errf("unknown type %q (want invoke, ok, fail or info)", op.Type)
	}
	if op.F == "" {
		return v.errf("empty f")
	}
	if v.ops == 0 && op.Index != 0 {
		return v.errf("index %d: a history starts at index 0", op.Index)
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
	if op.Lease < 0 {
		return v.errf("negative ttl %d", op.Lease)
	}
	if !op.IsNemesis() && op.Key == "" {
		return v.errf("%s %s of process %d has no key; every client op names its lock or resource key", op.Type, op.F, op.Process)
	}
	v.lastIndex, v.lastTime = op.Index, op.Time
	v.ops++
	if op.IsNemesis() {
		return nil // nemesis events are not paired
	}
	p := op.Process
	st := v.procs.get(p)
	if st.retired {
		return v.errf("process %d issued an op after an info completion; a client carries on under a new process id", p)
	}
	if op.Type == Invoke {
		if st.pending {
			return v.errf("process %d invoked %s while its %s is outstanding", p, op.F, st.f)
		}
		st.pending, st.f, st.key = true, op.F, op.Key
		return nil
	}
	switch {
	case !st.pending:
		return v.errf("%s %s of process %d has no outstanding invoke", op.Type, op.F, p)
	case st.f != op.F:
		return v.errf("%s %s of process %d completes an invoke of %s", op.Type, op.F, p, st.f)
	case st.key != op.Key:
		return v.errf("%s %s of process %d is on key %q, but its invoke was on key %q", op.Type, op.F, p, op.Key, st.key)
	}
	st.pending, st.f, st.key = false, "", ""
	st.retired = op.Type == Info
	return nil
}

// procState is what the validator knows of one client process: its
// outstanding invoke, and whether an info retired it.
type procState struct {
	f, key           string
	pending, retired bool
}

// procTable holds the state of every client process. Process ids are
// mostly small and dense, so they index a slice; larger ones go to a map.
type procTable struct {
	dense  []procState
	sparse map[int]*procState
}

// denseProcs bounds the slice part of a procTable.
const denseProcs = 1 << 18

func (t *procTable) get(p int) *procState {
	if p < denseProcs {
		if p >= len(t.dense) {
			t.dense = append(t.dense, make([]procState, p+1-len(t.dense))...)
		}
		return &t.dense[p]
	}
	st := t.sparse[p]
	if st == nil {
		if t.sparse == nil {
			t.sparse = map[int]*procState{}
		}
		st = &procState{}
		t.sparse[p] = st
	}
	return st
}

func (v *Validator) errf(format string, args ...any) error {
	return &LineError{File: v.name, Line: v.line, Msg: fmt.Sprintf(format, args...)}
}
