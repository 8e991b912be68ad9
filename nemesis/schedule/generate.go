package schedule

import (
	"fmt"
	"math/rand"
	"time"
)

// PlanParams is what a planner gets to draw one event.
type PlanParams struct {
	// Start is when the event begins, as an offset from the workload start.
	Start time.Duration
	// MaxDuration is how long the event should last at most, so that faults
	// do not overlap. A planner may exceed it when its fault needs to.
	MaxDuration time.Duration
	// Nodes are the node names of the run (empty for in-process targets).
	Nodes []string
	// TTL is the lease length of the run, for faults that must outlast it.
	TTL time.Duration
	// Opts are the nemesis options from --opt name=value.
	Opts map[string]string
}

// A Planner draws the events of one nemesis. Planners must use only rng for
// their random choices, so that a seed always gives the same schedule.
type Planner interface {
	Name() string
	Plan(rng *rand.Rand, p PlanParams) (Event, error)
}

// Config says how dense a schedule is.
type Config struct {
	Seed int64
	// Interval is the time from one fault's start to the next.
	Interval time.Duration
	// TimeLimit is the length of the workload; no fault starts after
	// TimeLimit minus a quarter interval, and every fault ends by
	// TimeLimit.
	TimeLimit time.Duration
	Nodes     []string
	TTL       time.Duration
	Opts      map[string]string
}

// Generate builds the schedule for cfg from the planners, taking turns
// among them. The same config and planners always give the same schedule.
// A fault lasts at most 60% of the interval by default, and the rest of the
// interval lets the system recover, as Jepsen's nemesis generators alternate
// faults and quiet periods. A planner may ask for longer when its fault
// needs it (a client stall must outlast the lease); no fault outlasts the
// time limit.
func Generate(cfg Config, planners []Planner) (Schedule, error) {
	s := Schedule{Seed: cfg.Seed, Events: []Event{}}
	if len(planners) == 0 {
		return s, nil
	}
	if cfg.Interval <= 0 {
		return s, fmt.Errorf("schedule: interval %s must be positive", cfg.Interval)
	}
	rng := rand.New(rand.NewSource(cfg.Seed))
	first := cfg.Interval / 2
	if first > 5*time.Second {
		first = 5 * time.Second
	}
	for k := 0; ; k++ {
		start := first + time.Duration(k)*cfg.Interval
		// Jitter the start by up to a tenth of the interval.
		start += time.Duration(rng.Int63n(int64(cfg.Interval)/10 + 1))
		if start >= cfg.TimeLimit-cfg.Interval/4 {
			break
		}
		maxDur := cfg.Interval * 6 / 10
		if end := cfg.TimeLimit - start; maxDur > end {
			maxDur = end
		}
		p := planners[k%len(planners)]
		ev, err := p.Plan(rng, PlanParams{Start: start, MaxDuration: maxDur, Nodes: cfg.Nodes, TTL: cfg.TTL, Opts: cfg.Opts})
		if err != nil {
			return s, fmt.Errorf("plan %s: %w", p.Name(), err)
		}
		ev.Nemesis = p.Name()
		ev.Start = start
		if ev.Duration <= 0 {
			ev.Duration = maxDur
		}
		if end := cfg.TimeLimit - start; ev.Duration > end {
			ev.Duration = end
		}
		s.Events = append(s.Events, ev)
	}
	return s, nil
}
