package campaign

import (
	"fmt"
	"strings"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

// Unjudged says which of the checkers a cell is judged by (only, its
// judge: list) had nothing to judge in the run rr, or did not run, and
// why; "" when each of them judged something, or when the cell names
// none.
func Unjudged(rr store.RunResult, only []string) string {
	var why []string
	for _, name := range only {
		i := indexOf(rr.Results, name)
		switch {
		case i < 0:
			why = append(why, fmt.Sprintf("%s did not run", name))
		case rr.Results[i].Skipped:
			why = append(why, fmt.Sprintf("%s had nothing to judge (%s)", name, strings.TrimSuffix(rr.Results[i].Summary, ".")))
		}
	}
	return strings.Join(why, "; ")
}

func indexOf(rs []checker.Result, name string) int {
	for i, r := range rs {
		if r.Checker == name {
			return i
		}
	}
	return -1
}

// evidence holds a cell to the evidence its runs give. A run whose
// nemeses never struck (CellRun.NoFaults), or in which a checker the cell
// is judged by had nothing to judge (CellRun.Unjudged), shows nothing
// about what the cell claims: a safe cell with such a run is not met, and
// the outcome of any other cell says so.
func evidence(cr *store.CellResult) {
	n := len(cr.Runs)
	var noFaults, unjudged int
	var whyFaults, whyJudged string
	for _, r := range cr.Runs {
		if r.NoFaults != "" {
			noFaults++
			whyFaults = firstOf(whyFaults, r.NoFaults)
		}
		if r.Unjudged != "" {
			unjudged++
			whyJudged = firstOf(whyJudged, r.Unjudged)
		}
	}
	var parts []string
	if noFaults > 0 {
		parts = append(parts, fmt.Sprintf("no fault struck in %d of %d runs: %s", noFaults, n, whyFaults))
	}
	if unjudged > 0 {
		parts = append(parts, fmt.Sprintf("in %d of %d runs %s", unjudged, n, whyJudged))
	}
	if len(parts) == 0 {
		return
	}
	if cr.Expect == store.ExpectSafe && cr.Met {
		under := ""
		if cr.Nemesis != "" && cr.Nemesis != "none" {
			under = " under " + cr.Nemesis
		}
		cr.Met = false
		cr.Outcome = fmt.Sprintf("expected safe%s, but %s", under, strings.Join(parts, "; "))
		return
	}
	cr.Outcome += "; " + strings.Join(parts, "; ")
}

// firstOf keeps the first reason seen.
func firstOf(first, next string) string {
	if first != "" {
		return first
	}
	return next
}
