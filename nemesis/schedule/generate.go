// Package schedule draws fault schedules from a run's plan: a list of typed
// events (plan.Event) produced from the seed before any fault is applied.
// The code that applies them lives in package nemesis; reports and the
// store read them as part of the plan without touching Docker.
package schedule

import (
	"fmt"
	"math/rand"
	"time"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

// PlanParams is what a planner gets to draw one event: where the event
// falls, and what it needs of the run's plan.
type PlanParams struct {
	// Start is when the event begins, as an offset from the workload start.
	Start time.Duration
	// MaxDuration is how long the event should last at most, so that faults
	// do not overlap. A planner may exceed it when its fault needs to.
	MaxDuration time.Duration
	// Nodes are the node names of the run (empty for in-process targets).
	Nodes []string
	// Lease is the lease the service honours (plan.Plan.Lease, not the
	// lease asked for), for faults that must outlast it.
	Lease time.Duration
	// Opts are the run's options.
	Opts option.Values
	// Clients says that the run's clients are processes in client
	// containers, at which network faults can aim.
	Clients bool
}

// A Planner draws the events of one nemesis. Planners must use only rng for
// their random choices, so that a seed always gives the same schedule.
type Planner interface {
	Name() string
	Plan(rng *rand.Rand, p PlanParams) (plan.Event, error)
}

// Generate builds the schedule of pl from the planners, taking turns among
// them: its events fall every NemesisInterval within TimeLimit, drawn from
// Seed, with pl.Lease as the lease that faults must outlast. The same plan
// and planners always give the same schedule.
// A fault lasts at most 60% of the interval by default, and the rest of the
// interval lets the system recover, as Jepsen's nemesis generators alternate
// faults and quiet periods. A planner may ask for longer when its fault
// needs it (a client stall must outlast the lease); no fault outlasts the
// time limit.
func Generate(pl *plan.Plan, planners []Planner) (plan.Schedule, error) {
	s := plan.Schedule{Seed: pl.Seed, Events: []plan.Event{}}
	if len(planners) == 0 {
		return s, nil
	}
	if pl.NemesisInterval <= 0 {
		return s, fmt.Errorf("schedule: interval %s must be positive", pl.NemesisInterval)
	}
	rng := rand.New(rand.NewSource(pl.Seed))
	first := firstStart(pl.NemesisInterval)
	for k := 0; ; k++ {
		start := first + time.Duration(k)*pl.NemesisInterval
		// Jitter the start by up to a tenth of the interval.
		start += time.Duration(rng.Int63n(int64(maxJitter(pl.NemesisInterval)) + 1))
		if start >= lastStart(pl.TimeLimit, pl.NemesisInterval) || k >= plan.MaxFaults {
			break
		}
		maxDur := pl.NemesisInterval * 6 / 10
		if end := pl.TimeLimit - start; maxDur > end {
			maxDur = end
		}
		p := planners[k%len(planners)]
		ev, err := p.Plan(rng, PlanParams{Start: start, MaxDuration: maxDur, Nodes: pl.NodeNames(), Lease: pl.Lease, Opts: pl.Options,
			Clients: pl.Client != "" && pl.Client != plan.ClientGo})
		if err != nil {
			return s, fmt.Errorf("plan %s: %w", p.Name(), err)
		}
		ev.Nemesis = p.Name()
		ev.Start = start
		if ev.Duration <= 0 {
			ev.Duration = maxDur
		}
		if end := pl.TimeLimit - start; ev.Duration > end {
			ev.Duration = end
		}
		s.Events = append(s.Events, ev)
	}
	return s, nil
}

// firstStart is when the first event starts before its jitter: half the
// interval, at most 5 s.
func firstStart(interval time.Duration) time.Duration {
	return min(interval/2, 5*time.Second)
}

// maxJitter is the most an event's start is moved: a tenth of the
// interval.
func maxJitter(interval time.Duration) time.Duration { return interval / 10 }

// lastStart bounds the starts of events: none starts at or after it, in
// the last quarter of an interval before the time limit.
func lastStart(timeLimit, interval time.Duration) time.Duration {
	return timeLimit - interval/4
}

// CheckRoom reports, as a *plan.FieldError on the time limit, when a run
// of timeLimit with a fault every interval might draw no event at all:
// when the first event, at its latest jitter, would start too late. A
// run whose nemeses can strike nothing is no evidence of safety, so the
// harness refuses such settings before anything starts. Every seed draws
// at least one event for the settings it accepts.
func CheckRoom(timeLimit, interval time.Duration) error {
	first, latest := firstStart(interval), firstStart(interval)+maxJitter(interval)
	if latest < lastStart(timeLimit, interval) {
		return nil
	}
	return &plan.FieldError{Field: "time-limit", Msg: fmt.Sprintf(
		"%s leaves no room for a fault: with nemesis-interval %s the first fault starts %s to %s into the run, "+
			"and none starts in the last %s; give a time limit above %s, or a shorter nemesis-interval",
		timeLimit, interval, first, latest, interval/4, latest+interval/4)}
}
