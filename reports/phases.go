package reports

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lockstorm/lockstorm/store"
)

// phasesLine says where a run's time went, one phase after the other:
// "cluster 3.1 s · setup 0.7 s · workload 60.0 s"; "" for a run that
// recorded no phases.
func phasesLine(ps []store.Phase) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%s %.1f s", p.Name, p.Seconds))
	}
	return strings.Join(parts, " · ")
}

// medianPhases is, for a cell, the median length of each phase over the
// runs that went through it, in the order in which the phases first
// came; nil when no run recorded phases.
func medianPhases(runs []store.CellRun) []store.Phase {
	var names []string
	secs := map[string][]float64{}
	for _, r := range runs {
		for _, p := range r.Phases {
			if _, ok := secs[p.Name]; !ok {
				names = append(names, p.Name)
			}
			secs[p.Name] = append(secs[p.Name], p.Seconds)
		}
	}
	out := make([]store.Phase, 0, len(names))
	for _, n := range names {
		out = append(out, store.Phase{Name: n, Seconds: median(secs[n])})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// median is the middle value of xs, the mean of the two middle ones for
// an even count; xs is not empty.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// stoppedEarly is the run page's sentence on a run whose workload was
// ended early after a violation (Plan.StopAfterViolation); "" for one
// that ran its full time limit.
func stoppedEarly(res store.RunResult) string {
	if res.StoppedEarlyAt <= 0 {
		return ""
	}
	into := ""
	if res.WorkloadStart > 0 {
		into = fmt.Sprintf(", %s into the workload,", fmtNs(res.StoppedEarlyAt-res.WorkloadStart))
	}
	return fmt.Sprintf("The workload was stopped early at %s%s %s after the first violation (--stop-after-violation) rather than at its time limit of %s; the run then healed, probed and was checked as usual.",
		fmtNs(res.StoppedEarlyAt), into, fmtNs(int64(res.Plan.StopAfterViolation)), fmtNs(int64(res.Plan.TimeLimit)))
}
