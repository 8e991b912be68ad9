package history

import (
	"io"

	"github.com/lockstorm/lockstorm/internal/hugepage"
)

// A Split is a validated history held by key, in a compact form, for
// checking histories too large to hold as one History: each client op
// takes about a third of the memory of an Op, and the ops of one key are
// turned into a History only when that key is checked. The lock checkers
// judge every key on its own, so they can take the keys one at a time.
//
// A Split keeps every field that the lock checkers read. The values of
// client ops are checked and then dropped (the lock checkers never read
// them); the nemesis ops are kept whole.
type Split struct {
	keys    []string
	byKey   map[string]int
	parts   []splitPart
	nemesis History
	strs    []string // interned f, node and error strings, by id
	strID   map[string]uint32
	recent  [8]uint32 // the ids looked up last, in a ring
	next    int
	ops     int
	start   int64
	end     int64
}

// splitPart holds the client ops of one key in blocks, so that growing it
// never copies what was read.
type splitPart struct {
	blocks [][]slimOp
	n      int
}

// A slimOp is a client op without its key (the part's key) and value, its
// strings replaced by ids.
type slimOp struct {
	index, time, token, lease int64
	process                   int
	f, node, err              uint32
	typ                       uint8
	hasToken                  bool
}

// The types of a slimOp.
var slimTypes = [...]Type{Invoke, Ok, Fail, Info}

func slimType(t Type) uint8 {
	for i, s := range slimTypes {
		if s == t {
			return uint8(i)
		}
	}
	return 0
}

// maxBlock is the largest block of a part, in ops.
const maxBlock = 8192

// ReadSplitFile reads and validates the history at path into a Split,
// with the rules and errors of ReadFile.
func ReadSplitFile(path string) (*Split, error) {
	f, _, err := OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadSplit(f, path)
}

// ReadSplit reads and validates a history from r into a Split, with the
// rules and errors of Read: a torn final line gives the Split of the ops
// before it together with a *TruncatedError.
func ReadSplit(r io.Reader, name string) (*Split, error) {
	rd := NewReader(r, name)
	rd.parser.dropValue = true
	s := &Split{byKey: map[string]int{}, strID: map[string]uint32{"": 0}, strs: []string{""}}
	return s, rd.each(s.add)
}

// add appends an op that the reader accepted.
func (s *Split) add(op *Op) {
	if s.ops == 0 {
		s.start = op.Time
	}
	s.ops++
	s.end = op.Time
	if op.IsNemesis() {
		s.nemesis = append(s.nemesis, *op)
		return
	}
	k, ok := s.byKey[op.Key]
	if !ok {
		k = len(s.keys)
		s.byKey[op.Key] = k
		s.keys = append(s.keys, op.Key)
		s.parts = append(s.parts, splitPart{})
	}
	so := slimOp{index: int64(op.Index), time: op.Time, lease: op.Lease, process: op.Process,
		f: s.id(op.F), node: s.id(op.Node), err: s.id(op.Error), typ: slimType(op.Type)}
	if op.Token != nil {
		so.token, so.hasToken = *op.Token, true
	}
	p := &s.parts[k]
	if len(p.blocks) == 0 || len(p.blocks[len(p.blocks)-1]) == cap(p.blocks[len(p.blocks)-1]) {
		size := maxBlock
		if len(p.blocks) == 0 || p.n < maxBlock {
			size = min(max(16, 2*p.n), maxBlock)
		}
		p.blocks = append(p.blocks, make([]slimOp, 0, size))
	}
	last := &p.blocks[len(p.blocks)-1]
	*last = append(*last, so)
	p.n++
}

func (s *Split) id(str string) uint32 {
	if str == "" {
		return 0
	}
	for _, id := range s.recent {
		if s.strs[id] == str {
			return id
		}
	}
	id, ok := s.strID[str]
	if !ok {
		id = uint32(len(s.strs))
		s.strID[str] = id
		s.strs = append(s.strs, str)
	}
	s.recent[s.next] = id
	s.next = (s.next + 1) % len(s.recent)
	return id
}

// Len returns the number of ops of the whole history.
func (s *Split) Len() int { return s.ops }

// Start returns the time of the first op, End the time of the last; both
// are 0 for an empty history.
func (s *Split) Start() int64 { return s.start }

// End returns the time of the last op of the whole history.
func (s *Split) End() int64 { return s.end }

// Keys returns the keys of the client ops, in order of first appearance.
func (s *Split) Keys() []string { return s.keys }

// Nemesis returns the nemesis ops, in history order.
func (s *Split) Nemesis() History { return s.nemesis }

// Key returns the client ops of the i-th key as a History, in history
// order, without their values.
func (s *Split) Key(i int) History { return s.materialize(i, false) }

func (s *Split) materialize(i int, release bool) History {
	p := &s.parts[i]
	key := s.keys[i]
	// The ops are written field by field into the zeroed History rather
	// than appended whole: a whole Op is copied with a write barrier on
	// each of its pointers while the collector runs, which it mostly does
	// here, as the History is the largest allocation of a check.
	h := make(History, p.n)
	hugepage.Advise(h)
	var tokens []int64
	k := 0
	for bi, b := range p.blocks {
		if release {
			p.blocks[bi] = nil
		}
		for j := range b {
			so := &b[j]
			op := &h[k]
			k++
			op.Index, op.Time, op.Process, op.Lease = int(so.index), so.time, so.process, so.lease
			op.Type, op.F, op.Key = slimTypes[so.typ], s.strs[so.f], key
			if so.node != 0 {
				op.Node = s.strs[so.node]
			}
			if so.err != 0 {
				op.Error = s.strs[so.err]
			}
			if so.hasToken {
				if len(tokens) == cap(tokens) {
					tokens = make([]int64, 0, min(p.n, 4096))
				}
				tokens = append(tokens, so.token)
				op.Token = &tokens[len(tokens)-1]
			}
		}
	}
	return h
}

// Take returns what Key(i) does and releases the compact ops of the key
// block by block as it goes, so that a key's ops are never held twice.
// Key(i) and Take(i) then return an empty History.
func (s *Split) Take(i int) History {
	h := s.materialize(i, true)
	s.parts[i] = splitPart{}
	return h
}
