// Package shrink finds a small fault schedule that still breaks a lock:
// delta debugging over a failing run's schedule. It removes faults first
// (ddmin over the events, each of which carries its own heal), then
// shortens each remaining fault by bisection. It is pure: whether a
// candidate still breaks the lock is the Oracle's to say (the CLI replays
// the run with the candidate K times), so the search is deterministic
// given the oracle, and its tests use fake ones.
package shrink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/plan"
)

// ErrDoesNotBreak is returned when the schedule to shrink does not reach
// the threshold itself: there is nothing to keep.
var ErrDoesNotBreak = errors.New("the schedule does not break the lock often enough")

// An Oracle says how often a candidate schedule breaks the lock: the
// fraction of its replays with a violation, 0..1.
type Oracle func(ctx context.Context, s plan.Schedule) (rate float64, err error)

// Config is how a schedule is shrunk.
type Config struct {
	// Threshold is the least violation rate a candidate must keep to be
	// taken, 0 < Threshold <= 1 (the CLI's default is 2 of 3 replays).
	Threshold float64
	// Floor is the shortest a fault is made; a fault is never lengthened.
	Floor time.Duration
	// Precision ends the bisection of a fault's duration: it stops when
	// the longest failing and the shortest breaking durations are at most
	// this far apart.
	Precision time.Duration
	// Resize returns an event lasting d (nemesis.Resize); nil sets only
	// its Duration.
	Resize func(ev plan.Event, d time.Duration) plan.Event
	// Confirm asks the oracle once more about the schedule found before
	// it is taken: a shortening ends at the edge between breaking and
	// not, where one round of replays is the least to be trusted. The
	// schedule is taken if the rate over both rounds stays at or above
	// Threshold; otherwise the next larger schedule kept is confirmed
	// (at most MaxConfirm of them), back to the run's own.
	Confirm bool
	// Step, if set, is told of every candidate tried, as it is decided.
	Step func(Step)
}

// MaxConfirm is how many kept schedules Confirm tries, smallest first.
const MaxConfirm = 4

// DefaultConfig returns a threshold of 2/3, a floor of 100 ms, a
// precision of 100 ms, and a confirmation of the schedule found.
func DefaultConfig() Config {
	return Config{Threshold: 2.0 / 3, Floor: 100 * time.Millisecond, Precision: 100 * time.Millisecond, Confirm: true}
}

// Validate reports a Config the search cannot run with.
func (c Config) Validate() error {
	switch {
	case !(c.Threshold > 0 && c.Threshold <= 1):
		return fmt.Errorf("threshold %g must be in (0, 1]", c.Threshold)
	case c.Floor <= 0:
		return fmt.Errorf("floor %s must be positive", c.Floor)
	case c.Precision <= 0:
		return fmt.Errorf("precision %s must be positive", c.Precision)
	}
	return nil
}

// Phases of the search, as Step.Phase says them.
const (
	PhaseOriginal = "original"
	PhaseRemove   = "remove"
	PhaseShorten  = "shorten"
	PhaseConfirm  = "confirm"
)

// A Step is one candidate tried: in which phase, its schedule, the rate
// the oracle gave, and whether it was kept (its rate reached the
// threshold).
type Step struct {
	Phase    string        `json:"phase"`
	Schedule plan.Schedule `json:"schedule"`
	Rate     float64       `json:"rate"`
	Kept     bool          `json:"kept"`
}

// A Result is the smallest schedule found, the rate the oracle gave it
// (over Rounds answers: 2 when it was confirmed, else 1), and every step
// of the search in order. Confirmed is false when Config.Confirm was set
// and no schedule kept its rate in a second round; Schedule is then the
// one with the best rate over both.
type Result struct {
	Schedule  plan.Schedule `json:"schedule"`
	Rate      float64       `json:"rate"`
	Rounds    int           `json:"rounds"`
	Confirmed bool          `json:"confirmed,omitempty"`
	Steps     []Step        `json:"steps"`
}

// Shrink returns the smallest schedule it finds, from s, whose violation
// rate stays at or above cfg.Threshold: first the fewest faults (ddmin,
// with the empty schedule tried first), then each remaining fault, in
// order, as short as it can be down to cfg.Floor. A candidate is asked of
// the oracle once; the same candidate again gets the first answer. If s
// itself stays below the threshold, Shrink returns ErrDoesNotBreak. An
// error of the oracle, or ctx ending, stops the search: the Result then
// holds the smallest schedule found so far.
func Shrink(ctx context.Context, s plan.Schedule, oracle Oracle, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if cfg.Resize == nil {
		cfg.Resize = func(ev plan.Event, d time.Duration) plan.Event { ev.Duration = d; return ev }
	}
	sh := &shrinker{ctx: ctx, oracle: oracle, cfg: cfg, seed: s.Seed, seen: map[string]float64{}}
	events := append([]plan.Event(nil), s.Events...)
	ok, err := sh.try(PhaseOriginal, events)
	if err != nil {
		return sh.res, err
	}
	if !ok {
		return sh.res, fmt.Errorf("%w: rate %.2f, below %.2f", ErrDoesNotBreak, sh.res.Rate, cfg.Threshold)
	}
	if events, err = sh.remove(events); err != nil {
		return sh.res, err
	}
	if _, err = sh.shorten(events); err != nil || !cfg.Confirm {
		return sh.res, err
	}
	return sh.res, sh.confirm()
}

// confirm asks the oracle again about the kept schedules, smallest (the
// latest kept) first, and takes the first whose rate over both answers
// reaches the threshold.
func (sh *shrinker) confirm() error {
	var kept []Step
	for i := len(sh.res.Steps) - 1; i >= 0 && len(kept) < MaxConfirm; i-- {
		if st := sh.res.Steps[i]; st.Kept {
			kept = append(kept, st)
		}
	}
	best := -1.0
	for _, st := range kept {
		if err := sh.ctx.Err(); err != nil {
			return err
		}
		again, err := sh.oracle(sh.ctx, st.Schedule)
		if err != nil {
			return fmt.Errorf("%s with %d faults: %w", PhaseConfirm, len(st.Schedule.Events), err)
		}
		both := (st.Rate + again) / 2
		ok := both >= sh.cfg.Threshold
		c := Step{Phase: PhaseConfirm, Schedule: st.Schedule, Rate: again, Kept: ok}
		sh.res.Steps = append(sh.res.Steps, c)
		if sh.cfg.Step != nil {
			sh.cfg.Step(c)
		}
		if both > best {
			best = both
			sh.res.Schedule, sh.res.Rate, sh.res.Rounds = st.Schedule, both, 2
		}
		if ok {
			sh.res.Schedule, sh.res.Rate, sh.res.Confirmed = st.Schedule, both, true
			return nil
		}
	}
	return nil
}

// shrinker is one search.
type shrinker struct {
	ctx    context.Context
	oracle Oracle
	cfg    Config
	seed   int64
	seen   map[string]float64
	res    Result
}

// try asks the oracle about events (once per candidate) and records the
// step; a candidate that reaches the threshold becomes the result.
func (sh *shrinker) try(phase string, events []plan.Event) (bool, error) {
	cand := plan.Schedule{Seed: sh.seed, Events: append([]plan.Event{}, events...)}
	k := key(cand)
	rate, done := sh.seen[k]
	if !done {
		if err := sh.ctx.Err(); err != nil {
			return false, err
		}
		var err error
		if rate, err = sh.oracle(sh.ctx, cand); err != nil {
			return false, fmt.Errorf("%s with %d faults: %w", phase, len(events), err)
		}
		sh.seen[k] = rate
	}
	kept := rate >= sh.cfg.Threshold
	if done {
		return kept, nil
	}
	st := Step{Phase: phase, Schedule: cand, Rate: rate, Kept: kept}
	sh.res.Steps = append(sh.res.Steps, st)
	if sh.cfg.Step != nil {
		sh.cfg.Step(st)
	}
	if kept {
		sh.res.Schedule, sh.res.Rate, sh.res.Rounds = cand, rate, 1
	}
	return kept, nil
}

// remove is ddmin over the events: it tries the empty schedule, then
// subsets and complements of n chunks, refining n, until no single event
// can go.
func (sh *shrinker) remove(events []plan.Event) ([]plan.Event, error) {
	if len(events) == 0 {
		return events, nil
	}
	if ok, err := sh.try(PhaseRemove, nil); err != nil || ok {
		return nil, err
	}
	n := 2
	for len(events) >= 2 {
		chunks := split(events, n)
		reduced := false
		for _, c := range chunks {
			ok, err := sh.try(PhaseRemove, c)
			if err != nil {
				return events, err
			}
			if ok {
				events, n, reduced = c, 2, true
				break
			}
		}
		if !reduced && n > 2 {
			for i := range chunks {
				comp := complement(chunks, i)
				ok, err := sh.try(PhaseRemove, comp)
				if err != nil {
					return events, err
				}
				if ok {
					events, n, reduced = comp, max(n-1, 2), true
					break
				}
			}
		}
		if !reduced {
			if n >= len(events) {
				break
			}
			n = min(2*n, len(events))
		}
	}
	return events, nil
}

// shorten bisects each event's duration in turn between cfg.Floor and
// its length, keeping the shortest that still breaks.
func (sh *shrinker) shorten(events []plan.Event) ([]plan.Event, error) {
	events = append([]plan.Event(nil), events...)
	for i := range events {
		hi := events[i].Duration
		lo := sh.cfg.Floor
		if hi <= lo {
			continue
		}
		with := func(d time.Duration) []plan.Event {
			c := append([]plan.Event(nil), events...)
			c[i] = sh.cfg.Resize(c[i], d)
			return c
		}
		ok, err := sh.try(PhaseShorten, with(lo))
		if err != nil {
			return events, err
		}
		if ok {
			events = with(lo)
			continue
		}
		for hi-lo > sh.cfg.Precision {
			mid := lo + (hi-lo)/2
			ok, err := sh.try(PhaseShorten, with(mid))
			if err != nil {
				return events, err
			}
			if ok {
				hi = mid
			} else {
				lo = mid
			}
		}
		events = with(hi)
	}
	return events, nil
}

// split cuts events into n chunks of nearly equal size, in order.
func split(events []plan.Event, n int) [][]plan.Event {
	n = min(n, len(events))
	out := make([][]plan.Event, 0, n)
	start := 0
	for i := 0; i < n; i++ {
		end := start + (len(events)-start)/(n-i)
		out = append(out, events[start:end])
		start = end
	}
	return out
}

// complement returns every chunk but the i-th, in order.
func complement(chunks [][]plan.Event, i int) []plan.Event {
	var out []plan.Event
	for j, c := range chunks {
		if j != i {
			out = append(out, c...)
		}
	}
	return out
}

// key identifies a candidate: its events' nemeses, modes, targets, starts
// and durations. Candidates are all cut from one schedule, so these tell
// its events apart.
func key(s plan.Schedule) string {
	var b strings.Builder
	for _, ev := range s.Events {
		b.WriteString(ev.Nemesis + "/" + ev.Mode + "/" + strings.Join(ev.Targets, ",") + "@" +
			strconv.FormatInt(int64(ev.Start), 10) + "+" + strconv.FormatInt(int64(ev.Duration), 10) + ";")
	}
	return b.String()
}
