package checker

import (
	"fmt"
	"math"

	"github.com/anishathalye/porcupine"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/internal/hugepage"
)

// The linearizability checker works on a simplified form of each key's lock
// operations, which has the same verdict as the history (see
// docs in linearizability.go):
//   - failed operations had no effect and are left out;
//   - an indeterminate acquire is left out: its process never acts again,
//     so "no effect" allows everything that "took effect" allows;
//   - an indeterminate release frees the lock if its process holds it, at
//     its invocation: taking effect at the earliest moment allows the most;
//   - a grant whose holder next releases with ok keeps the lock until that
//     release whatever its lease: a takeover would make the release illegal;
//   - a fault that may end a process's session (see sessions.go) adds an
//     indeterminate release of that process, which may take effect from
//     the session's end until the process's next operation on the key.
//
// What remains is deterministic, which porcupine searches far faster than a
// nondeterministic model.

// lopKind is the kind of a simplified lock operation.
type lopKind uint8

const (
	lGrant   lopKind = iota // an acquire that returned ok
	lRelease                // a release that returned ok
	lSoft                   // an indeterminate release, at its invocation
)

// never is the return time of an operation that has none.
const never = math.MaxInt64

// A lop is one simplified lock operation on one key. Its fields are laid
// out to take 64 bytes: a long history has hundreds of thousands.
type lop struct {
	proc int
	// call and ret bound the linearization point. They start as the
	// invocation and completion times and may be narrowed by clipping.
	call, ret int64
	// invoked is the invocation time, from which a lease runs.
	invoked int64
	lease   int64
	tok     int64
	// inv and done are positions in the history; done is -1 when there is
	// no completion.
	inv, done int32
	kind      lopKind
	// bound says that the process's next operation on the key is a
	// release that returned ok. Then the lease cannot have run out and
	// been taken over: the release would have been illegal. So a bound
	// grant is held until its release, whatever its lease.
	bound   bool
	hasTok  bool
	dropped bool
	// session marks the end of the process's session, from a fault: an
	// indeterminate release that may take effect at any point of
	// [call, ret], not only at its call.
	session bool
}

// deadline returns the earliest moment the grant's lease may run out, or
// never.
func (o *lop) deadline() int64 {
	if o.lease <= 0 || o.bound {
		return never
	}
	// A lease too long to end within int64 time never runs out; adding
	// would wrap around to a deadline before the grant.
	return addSat(o.invoked, o.lease)
}

// lockState is the state of the owner-aware mutex with leases and tokens.
// It is comparable, so porcupine's default equality works on it.
type lockState struct {
	holder   int   // -1 when free
	deadline int64 // never when the holder has no lease
	tok      int64 // the last granted token
	hasTok   bool
	// floor is the earliest time the next linearization point can have:
	// the latest lease deadline that an earlier step relied on. Porcupine
	// keeps the order of calls and returns; floor keeps the lease times.
	floor int64
}

func freeState() lockState { return lockState{holder: -1, deadline: never} }

// step applies o to s. It returns false when o is illegal in s.
func step(s lockState, o *lop) (bool, lockState) {
	switch o.kind {
	case lGrant:
		if o.ret < s.floor {
			return false, s
		}
		if s.holder >= 0 {
			if s.deadline == never || o.ret < s.deadline {
				return false, s
			}
			s.floor = max(s.floor, s.deadline) // the lease ran out first
		}
		if o.hasTok {
			if s.hasTok && o.tok <= s.tok {
				return false, s
			}
			s.tok, s.hasTok = o.tok, true
		}
		s.holder, s.deadline = o.proc, o.deadline()
		return true, s
	case lRelease:
		if o.ret < s.floor || s.holder != o.proc {
			return false, s
		}
		s.holder, s.deadline = -1, never
		return true, s
	default: // lSoft never fails
		if s.holder == o.proc {
			s.holder, s.deadline = -1, never
		}
		return true, s
	}
}

// lockModel returns the porcupine model of one piece, starting in init.
func lockModel(init lockState) porcupine.Model {
	return porcupine.Model{
		Init: func() interface{} { return init },
		Step: func(state, input, _ interface{}) (bool, interface{}) {
			ok, next := step(state.(lockState), input.(*lop))
			return ok, next
		},
		Hash: func(state interface{}) uint64 {
			s := state.(lockState)
			h := uint64(s.holder+1)*0x9e3779b97f4a7c15 ^ uint64(s.deadline)*0xbf58476d1ce4e5b9
			h ^= uint64(s.tok)*0x94d049bb133111eb ^ uint64(s.floor)
			if s.hasTok {
				h ^= 1
			}
			return h
		},
		DescribeOperation: func(input, _ interface{}) string { return describeLop(input.(*lop)) },
		DescribeState:     func(state interface{}) string { return describeState(state.(lockState)) },
	}
}

func describeLop(o *lop) string {
	switch o.kind {
	case lGrant:
		s := fmt.Sprintf("p%d acquire → ok", o.proc)
		if o.hasTok {
			s += fmt.Sprintf(", token %d", o.tok)
		}
		if o.lease > 0 {
			s += ", lease " + fmtDur(o.lease)
		}
		return s
	case lRelease:
		return fmt.Sprintf("p%d release → ok", o.proc)
	}
	if o.session {
		return fmt.Sprintf("p%d session may end (frees the lock)", o.proc)
	}
	return fmt.Sprintf("p%d release → unknown (may free the lock)", o.proc)
}

func describeState(s lockState) string {
	var out string
	if s.holder < 0 {
		out = "free"
	} else {
		out = fmt.Sprintf("held by p%d", s.holder)
		if s.deadline != never {
			out += ", lease may end at " + history.FormatTime(s.deadline)
		}
	}
	if s.hasTok {
		out += fmt.Sprintf(", last token %d", s.tok)
	}
	return out
}

// keyOps is the simplified lock history of one key.
type keyOps struct {
	key string
	ops []lop
	// dropped are the positions of indeterminate acquires left out.
	dropped []int32
	// malformed names a process that acted on the key after an
	// indeterminate completion, which the format forbids; such a key is
	// not checked.
	malformed int
	bad       bool
	// retired are the processes that had an indeterminate completion on
	// the key: they must not act on it again.
	retired map[int]bool
}

// lockOps extracts the simplified lock operations of every key, keys in
// order of first appearance.
func lockOps(h history.History, link []int32) []*keyOps {
	// A client op without key breaks the format (the reader refuses it);
	// in a history built in code it is left out, as the holds leave it.
	isLockInvoke := func(o *history.Op) bool {
		return !o.IsNemesis() && o.Key != "" && o.Type == history.Invoke && (o.F == history.FAcquire || o.F == history.FRelease)
	}
	// Count first, so that each key's ops are allocated once.
	counts := map[string]int{}
	for i := range h {
		if isLockInvoke(&h[i]) {
			counts[h[i].Key]++
		}
	}
	byKey := map[string]*keyOps{}
	var keys []*keyOps
	for i := range h {
		o := &h[i]
		if !isLockInvoke(o) {
			continue
		}
		ko := byKey[o.Key]
		if ko == nil {
			ko = &keyOps{key: o.Key, ops: make([]lop, 0, counts[o.Key])}
			hugepage.Advise(ko.ops)
			byKey[o.Key] = ko
			keys = append(keys, ko)
		}
		if ko.retired[o.Process] && !ko.bad {
			ko.bad, ko.malformed = true, o.Process
		}
		typ, j := completion(h, link, i)
		if typ == history.Info {
			if ko.retired == nil {
				ko.retired = map[int]bool{}
			}
			ko.retired[o.Process] = true
		}
		switch {
		case typ == history.Fail:
			continue
		case o.F == history.FAcquire && typ == history.Info:
			ko.dropped = append(ko.dropped, int32(i))
			continue
		}
		l := lop{proc: o.Process, call: o.Time, invoked: o.Time, inv: int32(i), done: int32(j), ret: never}
		if j >= 0 {
			l.ret = h[j].Time
		}
		switch {
		case o.F == history.FRelease && typ == history.Info:
			l.kind, l.ret = lSoft, o.Time
		case o.F == history.FRelease:
			l.kind = lRelease
		default:
			l.kind = lGrant
			d := &h[j]
			l.lease = o.Lease
			if l.lease == 0 {
				l.lease = d.Lease
			}
			if t, ok := d.TokenValue(); ok {
				l.tok, l.hasTok = t, true
			} else if t, ok := o.TokenValue(); ok {
				l.tok, l.hasTok = t, true
			}
		}
		ko.ops = append(ko.ops, l)
	}
	for _, ko := range keys {
		bindGrants(ko.ops)
	}
	return keys
}

// bindGrants marks the grants whose process next releases with ok.
func bindGrants(ops []lop) {
	last := map[int]lopKind{} // kind of the next op of each process
	for i := len(ops) - 1; i >= 0; i-- {
		o := &ops[i]
		if k, ok := last[o.proc]; ok && o.kind == lGrant && k == lRelease {
			o.bound = true
		}
		last[o.proc] = o.kind
	}
}
