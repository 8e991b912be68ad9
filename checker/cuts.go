package checker

import (
	"cmp"
	"slices"
	"sort"

	"github.com/lockstorm/lockstorm/internal/hugepage"
)

// Cutting one key's lock history into pieces that porcupine can check one
// by one.
//
// An anchor is a grant g to process h that returned at r and whose hold is
// certain until e = min(the invocation of h's next operation on the key,
// g's lease deadline), with r < e. (A grant whose holder next releases with
// ok has no deadline: see lop.bound.) In every legal order h holds the lock
// over [r, e). Three facts follow for any other process's operations, in
// every legal order:
//
//   - a grant W that returned after r comes after g: it could only come
//     before if W's hold ended before g, but W's own next operation comes
//     after r, and a takeover of W is only possible once W's lease could
//     have run out (when that is by r, W "escapes" and is left alone). So W
//     comes after h's hold ends: its point is >= e, and its call is
//     clipped to e. When both grants carry tokens, the tokens tell the
//     order instead: a W with a smaller token that escapes comes before g,
//     and its return is clipped to r.
//   - a release X invoked by r, but returning after it, must free X's own
//     hold, which ended before g: its point is <= r. Its return is clipped
//     to r.
//   - an indeterminate release invoked inside (r, e) cannot free anything:
//     it is dropped.
//
// Clipping only removes orders that were illegal anyway, so it keeps the
// verdict. When an operation has no legal place left, no legal order
// exists at all: that is a conflict, a proof that the history is invalid.
//
// After clipping, if every operation ends by r or starts at e or later, the
// anchor is a cut: the operations before it and after it are checked
// separately, the later ones starting from "held by h, with g's lease, and
// the largest token granted so far", which is the state at the cut in every
// legal order of the earlier operations.

// maxMiddleScan bounds the operations examined inside one anchor's hold, so
// that a hold without release and without lease cannot make the sweep
// quadratic. An anchor whose scan is cut short is not a cut.
const maxMiddleScan = 1 << 14

// A cutPoint is an anchor where the history can be cut.
type cutPoint struct {
	ret      int64 // the anchor grant's return
	end      int64 // e: the hold is certain until here
	holder   int   // the anchor's process
	deadline int64 // the anchor's lease deadline, or never
}

// A conflict is a proof, found while clipping, that no legal order exists:
// operation op of another process must lie inside the certain hold of the
// grant at anchor, where it is illegal.
type conflict struct {
	anchor, op int   // positions in ops
	end        int64 // the anchor's hold is certain until here
}

// clipAndCut clips ops in place and returns the cut points in order, and
// the conflicts found. ops must be in order of invocation.
func clipAndCut(ops []lop) ([]cutPoint, []conflict) {
	n := len(ops)
	// next[i] is the invocation time of the next operation of the same
	// process, or never.
	next := make([]int64, n)
	last := map[int]int{}
	for i := n - 1; i >= 0; i-- {
		next[i] = never
		if j, ok := last[ops[i].proc]; ok {
			next[i] = ops[j].invoked
		}
		last[ops[i].proc] = i
	}
	grants := 0
	for i := range ops {
		if ops[i].kind == lGrant {
			grants++
		}
	}
	// Sized once: a long history has hundreds of thousands of anchors,
	// and most of them are cuts.
	anchors := make([]int, 0, grants)
	for i := range ops {
		if ops[i].kind == lGrant {
			anchors = append(anchors, i)
		}
	}
	slices.SortStableFunc(anchors, func(a, b int) int { return cmp.Compare(ops[a].ret, ops[b].ret) })

	cuts := make([]cutPoint, 0, grants)
	var conflicts []conflict
	var pend []int
	j := 0
	for _, ai := range anchors {
		g := &ops[ai]
		r := g.ret
		e := min(next[ai], g.deadline())
		if r >= e {
			continue
		}
		for j < n && ops[j].invoked <= r {
			pend = append(pend, j)
			j++
		}
		kept := pend[:0]
		for _, x := range pend {
			if !ops[x].dropped && ops[x].ret > r {
				kept = append(kept, x)
			}
		}
		pend = kept
		straddle := 0
		check := func(x int) {
			o := &ops[x]
			if o.dropped || o.proc == g.proc {
				return
			}
			switch clipAt(o, g, r, e) {
			case clipStraddle:
				straddle++
			case clipConflict:
				straddle++
				conflicts = append(conflicts, conflict{anchor: ai, op: x, end: e})
			}
		}
		for _, x := range pend {
			check(x)
		}
		m := j
		for ; m < n && ops[m].invoked < e && m-j < maxMiddleScan; m++ {
			check(m)
		}
		if m < n && ops[m].invoked < e {
			straddle++ // scan cut short
		}
		if straddle == 0 {
			cuts = append(cuts, cutPoint{ret: r, end: e, holder: g.proc, deadline: g.deadline()})
		}
	}
	return cuts, conflicts
}

// escapes reports whether grant o may come before an anchor that returned
// at r, because o's lease could have run out by then.
func escapes(o *lop, r int64) bool { return o.deadline() <= r }

// clipResult says what clipping did to one operation.
type clipResult uint8

const (
	clipDone     clipResult = iota // the op lies wholly before or after the anchor now
	clipStraddle                   // the op may lie on either side
	clipConflict                   // the op has no legal place: the history is invalid
)

// clipAt applies the anchor facts for anchor g, certain over [r, e), to an
// operation o of another process.
func clipAt(o, g *lop, r, e int64) clipResult {
	if o.call >= e || o.ret <= r {
		return clipDone
	}
	switch o.kind {
	case lGrant:
		after := !escapes(o, r)
		if o.hasTok && g.hasTok {
			// Tokens grow along the order, so they tell which grant
			// came first.
			after = o.tok > g.tok
			if !after && (o.tok == g.tok || !escapes(o, r)) {
				return clipConflict
			}
		} else if !after {
			return clipStraddle
		}
		if after {
			if e > o.ret {
				return clipConflict
			}
			o.call = e
			return clipDone
		}
		// Before g, and taken over by its lease by the time g came.
		if o.call > r {
			return clipConflict
		}
		o.ret = r
		return clipDone
	case lRelease:
		if o.call > r {
			return clipConflict
		}
		o.ret = r
		return clipDone
	default:
		if o.session && (o.call <= r || o.ret >= e) {
			// A session end may take effect anywhere in [call, ret],
			// which reaches outside the certain hold: it may free a
			// grant of its process on either side.
			return clipStraddle
		}
		// An indeterminate release, a point at its call inside (r, e),
		// or a session end wholly inside it: the anchor's holder holds,
		// so it frees nothing.
		o.dropped = true
		return clipDone
	}
}

// A piece is a run of one key's operations that can be checked alone,
// starting in state init.
type piece struct {
	key        string
	ops        []lop // in order of (clipped) call
	init       lockState
	start, end int64 // the earliest call and the latest return
}

// choosePieces groups the live ops into pieces of at least minOps
// operations (the last may be smaller), cutting only at cut points. init is
// the state before the first op.
func choosePieces(key string, ops []lop, cuts []cutPoint, minOps int, init lockState) []piece {
	minOps = max(minOps, 1)
	live := make([]int, 0, len(ops))
	for i := range ops {
		if !ops[i].dropped {
			live = append(live, i)
		}
	}
	rets := make([]int64, len(live))
	for k, i := range live {
		rets[k] = ops[i].ret
	}
	slices.Sort(rets)
	before := func(t int64) int { return sort.Search(len(rets), func(k int) bool { return rets[k] > t }) }

	var chosen []cutPoint
	prevCount := 0
	for _, c := range cuts {
		if len(chosen) > 0 && c.ret < chosen[len(chosen)-1].end {
			continue
		}
		cnt := before(c.ret)
		if cnt-prevCount < minOps {
			continue
		}
		if cnt == len(live) {
			break
		}
		chosen = append(chosen, c)
		prevCount = cnt
	}
	// Each op goes to the piece of the first chosen cut at or after its
	// return. Count first, then fill one array that all pieces share.
	place := make([]int32, len(live))
	sizes := make([]int, len(chosen)+1)
	for k, i := range live {
		ret := ops[i].ret
		p := sort.Search(len(chosen), func(c int) bool { return chosen[c].ret >= ret })
		place[k] = int32(p)
		sizes[p]++
	}
	all := make([]lop, len(live))
	hugepage.Advise(all)
	groups := make([][]lop, len(chosen)+1)
	at := 0
	for p, n := range sizes {
		groups[p] = all[at : at : at+n]
		at += n
	}
	for k, i := range live {
		groups[place[k]] = append(groups[place[k]], ops[i])
	}
	pieces := make([]piece, 0, len(groups))
	state := init
	for p, g := range groups {
		if len(g) == 0 {
			continue // only when there are no ops at all
		}
		slices.SortStableFunc(g, func(a, b lop) int { return cmp.Compare(a.call, b.call) })
		pc := piece{key: key, ops: g, init: state, start: g[0].call, end: g[0].ret}
		for _, o := range g {
			pc.end = max(pc.end, o.ret)
			if o.kind == lGrant && o.hasTok && (!state.hasTok || o.tok > state.tok) {
				state.tok, state.hasTok = o.tok, true
			}
		}
		if p < len(chosen) {
			state.holder, state.deadline, state.floor = chosen[p].holder, chosen[p].deadline, 0
		}
		pieces = append(pieces, pc)
	}
	return pieces
}
