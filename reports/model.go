package reports

import (
	"encoding/json"
	"sort"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
)

// A hold is the interval during which one process held one key: from its
// acquire ok until its next release invoke on that key, or the end of the
// history (then open is true). It is the checker's Hold with what drawing
// needs.
type hold struct {
	key     string
	process int
	start   int64
	end     int64
	open    bool
	token   *int64
	red     bool // part of an overlap with another process's hold
}

// A faultWindow is the time between a nemesis start-<name> op and the
// matching stop-<name> op (or the end of the history), as the checker's
// FaultWindows finds it.
type faultWindow struct {
	name  string
	start int64
	end   int64
	value json.RawMessage
}

// A pair is an invocation with its completion. A pair whose invoke was never
// completed has done.Type == history.Info and noDone set.
type pair struct {
	inv    history.Op
	done   history.Op
	noDone bool
}

// latency is the time from invoke to completion, or -1 when unknown.
func (p pair) latency() int64 {
	if p.noDone {
		return -1
	}
	return p.done.Time - p.inv.Time
}

// An overlap is the intersection of two holds of different processes on
// one key.
type overlap struct {
	key        string
	a, b       int // indexes into runData.holds
	start, end int64
}

// maxOverlaps bounds the overlaps kept for drawing; a history with an open
// hold that overlaps every later grant would otherwise grow quadratically.
const maxOverlaps = 10000

// runData is everything the timeline and plots draw, derived once from the
// history.
type runData struct {
	holds     []hold
	faults    []faultWindow
	pairs     []pair
	overlaps  []overlap
	processes []int // client processes, ascending
	end       int64 // last time worth drawing
	// start is the first time drawn by the overview timeline and the
	// plots: the workload's start, or the first op if one came before it
	// (0 for a run that did not record it). Times keep the run's clock.
	start int64
}

// derive computes the drawing data of a history.
func derive(h history.History) *runData {
	d := &runData{end: h.End()}
	d.holds = computeHolds(h)
	d.faults = computeFaults(h)
	d.pairs = computePairs(h)
	d.overlaps = computeOverlaps(d.holds)
	seen := map[int]bool{}
	for _, o := range h {
		if !o.IsNemesis() && !seen[o.Process] {
			seen[o.Process] = true
			d.processes = append(d.processes, o.Process)
		}
	}
	sort.Ints(d.processes)
	for _, f := range d.faults {
		d.end = max(d.end, f.end)
	}
	return d
}

// computeHolds takes the checker's holds, so that the report draws exactly
// what the checker judged.
func computeHolds(h history.History) []hold {
	src := checker.Holds(h)
	out := make([]hold, len(src))
	for i, hd := range src {
		out[i] = hold{key: hd.Key, process: hd.Process, start: hd.Start, end: hd.End, open: hd.Open, token: hd.Token}
	}
	return out
}

// computeFaults takes the checker's fault windows.
func computeFaults(h history.History) []faultWindow {
	src := checker.FaultWindows(h)
	out := make([]faultWindow, len(src))
	for i, w := range src {
		out[i] = faultWindow{name: w.Name, start: w.Start, end: w.End, value: w.Value}
	}
	return out
}

// computePairs takes the checker's pairing of invocations and completions.
func computePairs(h history.History) []pair {
	src := checker.Pair(h)
	out := make([]pair, len(src))
	for i, op := range src {
		out[i] = pair{inv: op.Invoke, done: op.Done, noDone: op.Missing}
	}
	return out
}

// computeOverlaps finds every pair of holds of different processes on one
// key that intersect, marks both red, and returns the intersections (at
// most maxOverlaps of them).
func computeOverlaps(holds []hold) []overlap {
	byKey := map[string][]int{}
	for i, hd := range holds {
		byKey[hd.key] = append(byKey[hd.key], i)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []overlap
	for _, k := range keys {
		idx := byKey[k]
		sort.Slice(idx, func(a, b int) bool { return holds[idx[a]].start < holds[idx[b]].start })
		var active []int
		for _, i := range idx {
			cur := &holds[i]
			kept := active[:0]
			for _, j := range active {
				if holds[j].end > cur.start {
					kept = append(kept, j)
				}
			}
			active = kept
			for _, j := range active {
				prev := &holds[j]
				if prev.process == cur.process {
					continue
				}
				e := min(prev.end, cur.end)
				if e <= cur.start {
					continue
				}
				prev.red, cur.red = true, true
				if len(out) < maxOverlaps {
					out = append(out, overlap{key: k, a: j, b: i, start: cur.start, end: e})
				}
			}
			active = append(active, i)
		}
	}
	return out
}
