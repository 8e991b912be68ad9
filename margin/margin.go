// Package margin finds how close to the edge a lock is: by bisection over
// one fault magnitude (a duration option such as client-pause.stall), the
// largest value at which no run broke the lock and the smallest at which
// every run did. It is pure: the runs at a value are the Oracle's to make
// (the CLI runs K seeds), so the search is deterministic given the oracle,
// and its tests use fake ones.
package margin

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultHold is the work inside the critical section of a margin's runs
// when neither --hold nor a cell's hold: says otherwise. A margin measures
// the lock, so the holder's own work is kept short: what the lease leaves
// to a stall is then close to the whole lease. With the run's auto hold
// (half a lease that runs out) the margin would shrink by that half, a
// figure about the workload rather than the lock. `--hold auto` or any
// duration measures a holder with that much work instead.
const DefaultHold = 20 * time.Millisecond

// An Oracle runs the lock at value and says in how many of its runs the
// lock broke.
type Oracle func(ctx context.Context, value time.Duration) (violations, runs int, err error)

// Config is the range searched and how finely.
type Config struct {
	// From and To bound the values tried, From < To.
	From, To time.Duration
	// Precision ends each bisection when the two values it brackets are
	// at most this far apart; 0 means (To-From)/32.
	Precision time.Duration
	// MaxSteps bounds the values tried; 0 means 40.
	MaxSteps int
	// Step, if set, is told of every value tried, as it is decided.
	Step func(Step)
}

// Validate reports a Config the search cannot run with.
func (c Config) Validate() error {
	switch {
	case c.From < 0:
		return fmt.Errorf("from %s is negative", c.From)
	case c.To <= c.From:
		return fmt.Errorf("to %s must be above from %s", c.To, c.From)
	case c.Precision < 0:
		return fmt.Errorf("precision %s is negative", c.Precision)
	case c.MaxSteps < 0:
		return fmt.Errorf("max steps %d is negative", c.MaxSteps)
	}
	return nil
}

// A Step is one value tried and what its runs gave.
type Step struct {
	// Value is the magnitude, in nanoseconds in JSON like the history.
	Value      time.Duration `json:"value"`
	Violations int           `json:"violations"`
	Runs       int           `json:"runs"`
}

// Rate is the fraction of the step's runs that broke the lock.
func (s Step) Rate() float64 {
	if s.Runs == 0 {
		return 0
	}
	return float64(s.Violations) / float64(s.Runs)
}

// held and broke say whether no run, or every run, broke the lock.
func (s Step) held() bool  { return s.Violations == 0 }
func (s Step) broke() bool { return s.Runs > 0 && s.Violations == s.Runs }

// The outcomes of a search.
const (
	// Found: both a value that held and one that broke every run.
	Found = "found"
	// AboveRange: the lock held in every run at To; the margin is above
	// the range.
	AboveRange = "above-range"
	// BelowRange: the lock broke in every run at From; the margin is
	// below the range.
	BelowRange = "below-range"
	// NoHold: some run broke the lock at From already, and not every
	// run: no value in the range held.
	NoHold = "no-hold"
	// NoBreak: at To some runs held: no value in the range broke every
	// run.
	NoBreak = "no-break"
)

// ErrNoBoundary is wrapped by Result.Err for every outcome but Found.
var ErrNoBoundary = errors.New("no boundary in range")

// A Result is what the search found: the largest value with no violation
// (Holds) and the smallest with a violation in every run (Breaks), each
// nil when the range has none, and every step in the order tried.
type Result struct {
	Outcome string         `json:"outcome"`
	Holds   *time.Duration `json:"holds,omitempty"`
	Breaks  *time.Duration `json:"breaks,omitempty"`
	Steps   []Step         `json:"steps"`
}

// Err returns nil when the search found both bounds, and otherwise an
// error wrapping ErrNoBoundary that says why, in the range cfg.
func (r Result) Err(cfg Config) error {
	switch r.Outcome {
	case Found:
		return nil
	case AboveRange:
		return fmt.Errorf("%w: the lock held in every run at %s, the top of the range; try a larger TO", ErrNoBoundary, cfg.To)
	case BelowRange:
		return fmt.Errorf("%w: the lock broke in every run at %s, the bottom of the range; try a smaller FROM", ErrNoBoundary, cfg.From)
	case NoHold:
		return fmt.Errorf("%w: the lock broke in some runs at %s already, so no value in the range held; try a smaller FROM", ErrNoBoundary, cfg.From)
	case NoBreak:
		return fmt.Errorf("%w: at %s, the top of the range, some runs held, so no value broke every run; try a larger TO", ErrNoBoundary, cfg.To)
	}
	return fmt.Errorf("%w: outcome %q", ErrNoBoundary, r.Outcome)
}

// ErrTooManySteps is returned when MaxSteps values were tried before the
// bisections closed.
var ErrTooManySteps = errors.New("too many steps")

// Search bisects cfg's range, assuming that a larger value breaks the
// lock at least as often: it tries From and To, then narrows the largest
// value with no violation from above, and the smallest value with a
// violation in every run from below, each to cfg.Precision. Every value
// is tried once. An error of the oracle, ctx ending or MaxSteps stops the
// search with the steps so far.
func Search(ctx context.Context, oracle Oracle, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if cfg.Precision == 0 {
		cfg.Precision = max((cfg.To-cfg.From)/32, 1)
	}
	if cfg.MaxSteps == 0 {
		cfg.MaxSteps = 40
	}
	s := &search{ctx: ctx, oracle: oracle, cfg: cfg, seen: map[time.Duration]Step{}}
	bottom, err := s.try(cfg.From)
	if err != nil {
		return s.res, err
	}
	if bottom.broke() {
		s.res.Outcome, s.res.Breaks = BelowRange, ptr(cfg.From)
		return s.res, nil
	}
	top, err := s.try(cfg.To)
	if err != nil {
		return s.res, err
	}
	if top.held() {
		s.res.Outcome, s.res.Holds = AboveRange, ptr(cfg.To)
		return s.res, nil
	}
	// The largest value that held: between a value that held and the
	// smallest above it with a violation.
	if bottom.held() {
		lo, hi := cfg.From, cfg.To
		for hi-lo > cfg.Precision {
			mid := lo + (hi-lo)/2
			st, err := s.try(mid)
			if err != nil {
				return s.res, err
			}
			if st.held() {
				lo = mid
			} else {
				hi = mid
			}
		}
		s.res.Holds = ptr(lo)
	}
	// The smallest value that broke every run: between the largest value
	// tried below it where some run held, and a value that broke every
	// run.
	if top.broke() {
		lo, hi := cfg.From, cfg.To
		for v, st := range s.seen {
			if st.broke() && v < hi {
				hi = v
			}
		}
		for v, st := range s.seen {
			if !st.broke() && v > lo && v < hi {
				lo = v
			}
		}
		for hi-lo > cfg.Precision {
			mid := lo + (hi-lo)/2
			st, err := s.try(mid)
			if err != nil {
				return s.res, err
			}
			if st.broke() {
				hi = mid
			} else {
				lo = mid
			}
		}
		s.res.Breaks = ptr(hi)
	}
	switch {
	case s.res.Holds == nil:
		s.res.Outcome = NoHold
	case s.res.Breaks == nil:
		s.res.Outcome = NoBreak
	default:
		s.res.Outcome = Found
	}
	return s.res, nil
}

// search is one search.
type search struct {
	ctx    context.Context
	oracle Oracle
	cfg    Config
	seen   map[time.Duration]Step
	res    Result
}

// try runs value through the oracle, once, and records the step.
func (s *search) try(value time.Duration) (Step, error) {
	if st, ok := s.seen[value]; ok {
		return st, nil
	}
	if err := s.ctx.Err(); err != nil {
		return Step{}, err
	}
	if len(s.res.Steps) >= s.cfg.MaxSteps {
		return Step{}, fmt.Errorf("%w: %d values tried", ErrTooManySteps, len(s.res.Steps))
	}
	v, n, err := s.oracle(s.ctx, value)
	if err != nil {
		return Step{}, fmt.Errorf("at %s: %w", value, err)
	}
	if n <= 0 || v < 0 || v > n {
		return Step{}, fmt.Errorf("at %s: the oracle said %d violations in %d runs", value, v, n)
	}
	st := Step{Value: value, Violations: v, Runs: n}
	s.seen[value] = st
	s.res.Steps = append(s.res.Steps, st)
	if s.cfg.Step != nil {
		s.cfg.Step(st)
	}
	return st, nil
}

func ptr(d time.Duration) *time.Duration { return &d }
