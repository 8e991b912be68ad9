package checker

import (
	"cmp"
	"fmt"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/lockstorm/lockstorm/history"
)

// The words of the linearizability checker: where no legal order exists,
// what the lock was like when that window starts, and which operation the
// longest legal order could not place.

// explainPiece narrows an illegal piece and says in one sentence where no
// legal order exists.
func explainPiece(h history.History, kc *keyCheck, pc *piece, cfg linConfig, deadline time.Time) Anomaly {
	if len(pc.ops) > cfg.maxPiece {
		cp := *pc
		cp.ops = observe(pc.ops, cfg.maxPiece)
		pc = &cp
	}
	ops, init := narrow(kc, pc, deadline, true, cfg.maxPiece)
	an := windowAnomaly(h, pc.key, ops)
	stuck := ""
	if time.Until(deadline) > 0 {
		r, info := porcupine.CheckOperationsVerbose(lockModel(init), porcOps(ops, nil), time.Until(deadline))
		if r == porcupine.Illegal {
			stuck = firstUnplaced(h, ops, info)
		}
	}
	if len(ops) == 1 {
		an.Explanation = fmt.Sprintf("On key %s, %s cannot take effect (window %s – %s): %s.",
			pc.key, describeForSentence(h, &ops[0]), history.FormatTime(an.Start), history.FormatTime(an.End),
			statePhrase(init))
		return an
	}
	given := ""
	if init.holder >= 0 || init.hasTok {
		given = ", given that " + statePhrase(init)
	}
	an.Explanation = fmt.Sprintf("On key %s, no order of the %d lock operations between %s and %s (%s) obeys the lock's rules%s%s.",
		pc.key, len(ops), history.FormatTime(an.Start), history.FormatTime(an.End),
		procPhrase(an.Processes), given, stuck)
	return an
}

// statePhrase says in words what the lock is like when a window starts:
// who holds it, whether its lease can run out, the last token granted.
func statePhrase(s lockState) string {
	out := "when the window starts, the lock is free"
	if s.holder >= 0 {
		out = fmt.Sprintf("when the window starts, process %d holds the lock", s.holder)
		if s.deadline == never {
			out += ", with no lease that could run out"
		} else {
			out += ", with a lease that may end at " + history.FormatTime(s.deadline)
		}
	}
	if s.hasTok {
		out += fmt.Sprintf(", and the last token granted is %d", s.tok)
	}
	return out
}

// windowAnomaly locates a window of lock operations in the history.
func windowAnomaly(h history.History, key string, ops []lop) Anomaly {
	an := Anomaly{Kind: KindNotLinearizable, Key: key}
	seen := map[int]bool{}
	first := true
	for _, o := range ops {
		if o.inv < 0 {
			continue // a session end: no op of a client
		}
		t0, t1 := h[o.inv].Time, h[o.inv].Time
		if o.done >= 0 {
			t1 = h[o.done].Time
		}
		if first || t0 < an.Start {
			an.Start, first = t0, false
		}
		an.End = max(an.End, t1)
		if !seen[o.proc] {
			seen[o.proc] = true
			an.Processes = append(an.Processes, o.proc)
		}
		if len(an.Ops) < 50 {
			idx := h[o.inv].Index
			if o.done >= 0 {
				idx = h[o.done].Index
			}
			an.Ops = append(an.Ops, idx)
		}
	}
	sort.Ints(an.Processes)
	sort.Ints(an.Ops)
	return an
}

// firstUnplaced names the operation that porcupine's longest legal order
// could not go past: of the operations left out, the one that returned
// first. Porcupine hands its longest orders back in no fixed order, so
// among several of the same length the one whose left-out operation comes
// first wins, and the sentence is the same on every run.
func firstUnplaced(h history.History, ops []lop, info porcupine.LinearizationInfo) string {
	parts := info.PartialLinearizationsOperations()
	if len(parts) != 1 {
		return ""
	}
	longest := 0
	for _, seq := range parts[0] {
		longest = max(longest, len(seq))
	}
	var first *lop
	for _, seq := range parts[0] {
		if len(seq) != longest {
			continue
		}
		placed := make(map[*lop]bool, len(seq))
		for _, op := range seq {
			placed[op.Input.(*lop)] = true
		}
		for i := range ops {
			if o := &ops[i]; !placed[o] && (first == nil || lopBefore(o, first)) {
				first = o
			}
		}
	}
	if first == nil {
		return ""
	}
	if longest <= 0 {
		return fmt.Sprintf(": no legal order can even begin; the first operation that cannot be placed is %s",
			describeForSentence(h, first))
	}
	return fmt.Sprintf(": the longest legal order places %d of them and cannot go on with %s",
		longest, describeForSentence(h, first))
}

// lopBefore orders operations by return, then call, then position.
func lopBefore(a, b *lop) bool {
	return cmp.Or(cmp.Compare(a.ret, b.ret), cmp.Compare(a.call, b.call), cmp.Compare(a.inv, b.inv)) < 0
}

// describeForSentence names a lock operation in prose.
func describeForSentence(h history.History, o *lop) string {
	switch o.kind {
	case lGrant:
		s := fmt.Sprintf("process %d's acquire that returned ok at %s", o.proc, history.FormatTime(h[o.done].Time))
		if o.hasTok {
			s += fmt.Sprintf(" with token %d", o.tok)
		}
		return s
	case lRelease:
		return fmt.Sprintf("process %d's release that returned ok at %s", o.proc, history.FormatTime(h[o.done].Time))
	}
	if o.session {
		return fmt.Sprintf("the end of process %d's session, which a fault may have caused from %s", o.proc, history.FormatTime(o.invoked))
	}
	return fmt.Sprintf("process %d's indeterminate release invoked at %s", o.proc, history.FormatTime(o.invoked))
}

func procPhrase(ps []int) string {
	if len(ps) == 1 {
		return fmt.Sprintf("process %d", ps[0])
	}
	words := make([]string, len(ps))
	for i, p := range ps {
		words[i] = fmt.Sprint(p)
	}
	if len(words) > 8 {
		words = append(words[:8], "others")
	}
	return "processes " + joinWords(words)
}

// explainConflict describes a conflict found while clipping: an operation
// that has no legal place around another process's certain hold.
func explainConflict(h history.History, kc *keyCheck, c conflict) Anomaly {
	ops := kc.clipped
	g, o := &ops[c.anchor], &ops[c.op]
	an := windowAnomaly(h, kc.ko.key, []lop{*g, *o})
	what := fmt.Sprintf("acquire that returned ok at %s", history.FormatTime(h[o.done].Time))
	if o.hasTok {
		what += fmt.Sprintf(" with token %d", o.tok)
	}
	if o.kind == lRelease {
		what = fmt.Sprintf("release, invoked at %s and returned ok at %s", history.FormatTime(o.invoked),
			history.FormatTime(h[o.done].Time))
	}
	until := "the end of the history"
	if c.end != never {
		until = history.FormatTime(c.end)
	}
	tok := ""
	if g.hasTok {
		tok = fmt.Sprintf(" with token %d", g.tok)
	}
	an.Explanation = fmt.Sprintf("On key %s, process %d's %s has no legal place: process %d certainly held the lock "+
		"from %s%s until %s (no release asked and no lease that could run out before then), so no legal order exists.",
		kc.ko.key, o.proc, what, g.proc, history.FormatTime(h[g.done].Time), tok, until)
	return an
}
