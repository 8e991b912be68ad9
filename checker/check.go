package checker

import (
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// DefaultBudget is the time the linearizability search may take in total
// when Options gives none.
const DefaultBudget = 60 * time.Second

// Options tune Check.
type Options struct {
	// Budget bounds the linearizability search (default DefaultBudget).
	// A search that runs out makes that result unknown.
	Budget time.Duration
	// MaxAnomalies caps the anomalies stored per checker (default
	// DefaultMaxAnomalies); all are counted.
	MaxAnomalies int
	// Extra are further checkers, for example a workload's, run after
	// the lock checkers in order.
	Extra []func(history.History) Result
}

// A Report is the verdict of every checker on one history.
type Report struct {
	// Status merges the statuses of all results.
	Status Status `json:"status"`
	// Results are in the order the checkers ran: mutual-exclusion,
	// linearizability, fencing, liveness (only when the history has a
	// liveness probe), stats, then the extra checkers.
	Results []Result `json:"results"`
}

// Check runs every lock checker on h, then the extra ones, fills in the
// nemesis faults active during each anomaly, and merges the verdicts.
// Mutual exclusion runs first: it is a fast sweep, so an overlap is found
// even when the linearizability search later runs out of budget.
func Check(h history.History, opts Options) Report {
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	if opts.MaxAnomalies <= 0 {
		opts.MaxAnomalies = DefaultMaxAnomalies
	}
	results := []Result{
		mutualExclusion(h, opts.MaxAnomalies),
		linearizability(h, linConfig{budget: opts.Budget, maxAnomalies: opts.MaxAnomalies}),
		fencing(h, opts.MaxAnomalies),
	}
	if HasLivenessProbe(h) {
		results = append(results, Liveness(h))
	}
	results = append(results, Stats(h))
	for _, f := range opts.Extra {
		results = append(results, timed(f, h))
	}
	windows := FaultWindows(h)
	statuses := make([]Status, len(results))
	for i := range results {
		r := &results[i]
		for j := range r.Anomalies {
			a := &r.Anomalies[j]
			if a.Faults == nil {
				a.Faults = faultsDuring(windows, a.Start, a.End)
			}
		}
		statuses[i] = r.Status
	}
	return Report{Status: Merge(statuses...), Results: results}
}

// timed runs an extra checker and fills in Millis when it did not.
func timed(f func(history.History) Result, h history.History) Result {
	begin := time.Now()
	r := f(h)
	if r.Millis == 0 {
		r.Millis = time.Since(begin).Milliseconds()
	}
	if r.Status == "" {
		r.Status = Unknown
	}
	return r
}

// FirstViolation returns the earliest time by which an anomaly of an
// invalid result of r had certainly happened, or -1 when there is none. That
// is an anomaly's Start, except for a window with no legal order, which is
// only certain at its End.
func FirstViolation(r Report) int64 {
	first := int64(-1)
	for _, res := range r.Results {
		if res.Status != Invalid {
			continue
		}
		for _, a := range res.Anomalies {
			t := a.Start
			if a.Kind == KindNotLinearizable {
				t = a.End
			}
			if first < 0 || t < first {
				first = t
			}
		}
	}
	return first
}
