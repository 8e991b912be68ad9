package checker

import (
	"errors"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// DefaultBudget is the time the linearizability search may take in total
// when Options gives none.
const DefaultBudget = 60 * time.Second

// ErrNeedsHistory is returned by CheckSplit when extra checkers are asked
// for: they read ops' values, which a Split does not keep.
var ErrNeedsHistory = errors.New("extra checkers need the whole history")

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

// filled returns o with the defaults in place of zero values.
func (o Options) filled() Options {
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.MaxAnomalies <= 0 {
		o.MaxAnomalies = DefaultMaxAnomalies
	}
	return o
}

// A Report is the verdict of every checker on one history.
type Report struct {
	// Status is the verdict of Judge over all results.
	Status Status `json:"status"`
	// Results are in the order the checkers ran: mutual-exclusion,
	// linearizability, fencing, liveness, stats, then the extra checkers.
	Results []Result `json:"results"`
}

// Check runs every lock checker on h, then the extra ones, fills in the
// nemesis faults active during each anomaly, and judges the results.
// Mutual exclusion runs first: it is a fast sweep, so an overlap is found
// even when the linearizability search later runs out of budget.
func Check(h history.History, opts Options) Report {
	opts = opts.filled()
	c := newLockCheck(scopeOf(h), opts)
	c.add(h)
	results := c.results()
	for _, f := range opts.Extra {
		results = append(results, timed(f, h))
	}
	return finish(results, faultWindows(h, h.End()))
}

// CheckSplit runs every lock checker on a split history, one key at a
// time, so that only one key's ops are held as a History at once. It gives
// the same report as Check on the whole history. It takes each key's ops
// out of s as it goes (history.Split.Take), so s keeps only its nemesis
// ops. Extra checkers cannot run on a Split (ErrNeedsHistory).
func CheckSplit(s *history.Split, opts Options) (Report, error) {
	if len(opts.Extra) > 0 {
		return Report{}, ErrNeedsHistory
	}
	opts = opts.filled()
	c := newLockCheck(splitScope(s), opts)
	for i := range s.Keys() {
		c.add(s.Take(i))
	}
	return finish(c.results(), faultWindows(s.Nemesis(), s.End())), nil
}

// finish fills in the faults active during each anomaly and judges.
func finish(results []Result, windows []FaultWindow) Report {
	for i := range results {
		r := &results[i]
		for j := range r.Anomalies {
			a := &r.Anomalies[j]
			if a.Faults == nil {
				a.Faults = faultsDuring(windows, a.Start, a.End)
			}
		}
	}
	return Report{Status: Judge(results, Rules{}).Status, Results: results}
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
// invalid result of r that is a violation (Violation: not a missed tick)
// had certainly happened, or -1 when there is none. That
// is an anomaly's Start, except for a window with no legal order and for a
// token that went backwards or repeated, which are only certain at their End
// (a repeat spans both grants: the first one alone broke nothing).
func FirstViolation(r Report) int64 { return firstViolation(r.Results) }

func firstViolation(results []Result) int64 {
	first := int64(-1)
	for _, res := range results {
		if res.Status != Invalid {
			continue
		}
		for _, a := range res.Anomalies {
			if !Violation(a.Kind) {
				continue // a missed tick: no violation
			}
			t := a.Start
			if a.Kind == KindNotLinearizable || a.Kind == KindTokenRegression {
				t = a.End
			}
			if first < 0 || t < first {
				first = t
			}
		}
	}
	return first
}
