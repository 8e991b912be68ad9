package checker

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"github.com/lockstorm/lockstorm/history"
)

// Session ends. Some locks belong to the client's session (its
// connection): PostgreSQL's advisory locks, MySQL's GET_LOCK. The server
// frees them when it sees the session end, whatever the holder believes.
// A fault that may end sessions says so in the value of its start op:
//
//	{"mode": "client-holder", "details": {"sessions": [3], "sessions_at": 9751000000}}
//
// From that time on (the op's own time without sessions_at), the service
// may free every lock that process 3 holds.
// A later grant to another process is then no fault of the service: the
// earlier holder outlived its session. The linearizability checker lets
// the lock go free at any moment from the session's end until the
// process's next acquire on the key.

// FieldSessions is the key, in the details of a nemesis start op, of the
// processes whose sessions the fault may end; FieldSessionsAt, of the time
// (ns, as the ops' times) from which it may end them, when that is before
// the op: a fault takes effect before the harness records its start.
const (
	FieldSessions   = "sessions"
	FieldSessionsAt = "sessions_at"
)

// sessionEnds maps each process to the times, in order, at which a fault
// may have ended its session.
type sessionEnds map[int][]int64

// findSessionEnds reads the session ends that the nemesis ops of h name.
// A start op whose value does not parse names none: the reader does not
// judge a fault's value, and neither does the checker.
func findSessionEnds(h history.History) sessionEnds {
	var out sessionEnds
	for i := range h {
		o := &h[i]
		if !o.IsNemesis() || !strings.HasPrefix(o.F, history.FStartPrefix) || !bytes.Contains(o.Value, []byte(`"`+FieldSessions+`"`)) {
			continue
		}
		var v struct {
			Details map[string]json.RawMessage `json:"details"`
		}
		if json.Unmarshal(o.Value, &v) != nil {
			continue
		}
		var procs []int
		if json.Unmarshal(v.Details[FieldSessions], &procs) != nil {
			continue
		}
		at := o.Time
		var since int64
		if raw, ok := v.Details[FieldSessionsAt]; ok && json.Unmarshal(raw, &since) == nil && since >= 0 && since < at {
			at = since
		}
		for _, p := range procs {
			if out == nil {
				out = sessionEnds{}
			}
			out[p] = append(out[p], at)
		}
	}
	for _, ts := range out {
		slices.Sort(ts)
	}
	return out
}

// within returns the first time in [from, to] at which process's session
// may have ended.
func (s sessionEnds) within(process int, from, to int64) (int64, bool) {
	ts := s[process]
	i, _ := slices.BinarySearch(ts, from)
	if i < len(ts) && ts[i] <= to {
		return ts[i], true
	}
	return 0, false
}

// addSessionEnds adds to one key's ops, in order of invocation, an
// indeterminate release for each session end of a process that acts on
// the key. It frees the process's lock, if it holds one, at any moment
// from the end on, until the process's next operation on the key: up to
// the return of a release (a release that returned ok shows that the lock
// outlived the fault, and the session end then takes effect after it, as
// a no-op), up to the invocation of an acquire (a new grant is not the
// session's that ended). Its positions are -1: it is no op of a client.
func addSessionEnds(ops []lop, ends sessionEnds) []lop {
	if len(ends) == 0 {
		return ops
	}
	var extra []lop
	for p, ts := range ends {
		var mine []int // positions of p's ops, in order of invocation
		for i := range ops {
			if ops[i].proc == p {
				mine = append(mine, i)
			}
		}
		if len(mine) == 0 {
			continue
		}
		for _, t := range ts {
			until := int64(never)
			for _, i := range mine {
				o := &ops[i]
				if o.invoked <= t {
					continue
				}
				until = o.invoked
				if o.kind == lRelease {
					until = o.ret
				}
				break
			}
			extra = append(extra, lop{proc: p, call: t, invoked: t, ret: until, inv: -1, done: -1, kind: lSoft, session: true})
		}
	}
	if len(extra) == 0 {
		return ops
	}
	out := append(ops, extra...)
	slices.SortStableFunc(out, func(a, b lop) int { return cmp.Compare(a.invoked, b.invoked) })
	return out
}
