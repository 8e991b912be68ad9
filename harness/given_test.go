package harness

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/plan"
)

// givenPlan is a run on target redis with the schedule events given in
// file f.json.
func givenPlan(nemeses []string, events ...plan.Event) plan.Plan {
	p := plan.Default()
	p.Target, p.Nemeses, p.TimeLimit, p.Seed = "redis", nemeses, 20*time.Second, 3
	p.ScheduleFile = "f.json"
	p.Schedule = plan.Schedule{Seed: 9, Events: events}
	return p
}

func stall(start, d time.Duration) plan.Event {
	return plan.Event{Nemesis: "client-pause", Start: start, Duration: d, Params: map[string]string{"stall": d.String()}}
}

// A schedule given in a file is run as it is: Resolve keeps it instead of
// drawing one from the seed, and the reproduce command names the file.
func TestResolveKeepsAGivenSchedule(t *testing.T) {
	p := givenPlan([]string{"client-pause"}, stall(2*time.Second, time.Second), stall(5*time.Second, 3*time.Second))
	r, err := Resolve(p)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Plan.Schedule
	if s.Seed != 9 || len(s.Events) != 2 || s.Events[1].Start != 5*time.Second || s.Events[1].Duration != 3*time.Second {
		t.Fatalf("schedule %+v, want the given one", s)
	}
	if cmd := r.Plan.Command(); !strings.Contains(cmd, "--schedule f.json --seed 3") {
		t.Fatalf("command %s", cmd)
	}
	// A given empty schedule is no fault at all, not a drawn one.
	r, err = Resolve(givenPlan([]string{"client-pause"}))
	if err != nil || len(r.Plan.Schedule.Events) != 0 {
		t.Fatalf("got %v, %+v", err, r)
	}
}

func TestResolveRefusesAGivenScheduleTheRunCannotApply(t *testing.T) {
	cases := []struct {
		name string
		p    plan.Plan
		want string
	}{
		{"unknown nemesis", givenPlan([]string{"client-pause"}, plan.Event{Nemesis: "pausе", Start: time.Second, Duration: time.Second}),
			`schedule: f.json: events[0].nemesis: unknown nemesis "pausе"`},
		{"not in the run", givenPlan([]string{"client-pause"}, stall(time.Second, time.Second), plan.Event{Nemesis: "kill", Start: 5 * time.Second, Duration: time.Second}),
			"events[1].nemesis: kill is not one of the run's nemeses (client-pause)"},
		{"none in the run", givenPlan(nil, stall(time.Second, time.Second)),
			"events[0].nemesis: client-pause is not one of the run's nemeses (none)"},
		{"past the time limit", givenPlan([]string{"client-pause"}, stall(19*time.Second, 2*time.Second)),
			"events[0].duration: the fault ends at 21s, after the time limit, 20s"},
		{"out of order", givenPlan([]string{"client-pause"}, stall(5*time.Second, time.Second), stall(time.Second, time.Second)),
			"events[1].start: 1s is before the start of events[0]"},
		{"bad params", givenPlan([]string{"client-pause"}, plan.Event{Nemesis: "client-pause", Start: time.Second, Duration: time.Second}),
			"events[0].params: nemesis client-pause: the event has no parameter stall"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Resolve(c.p)
			var fe *plan.FieldError
			if err == nil || !errors.As(err, &fe) || fe.Field != "schedule" || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a schedule error saying %q", err, c.want)
			}
		})
	}
	// A nemesis that does not apply to the target.
	p := givenPlan([]string{"kill"}, plan.Event{Nemesis: "kill", Start: time.Second, Duration: time.Second, Params: map[string]string{"restart-delay": "0s"}})
	p.Target = "inmemory"
	if _, err := Resolve(p); err == nil || !strings.Contains(err.Error(), "events[0].nemesis: kill does not apply to target inmemory") {
		t.Fatalf("got %v", err)
	}
}
