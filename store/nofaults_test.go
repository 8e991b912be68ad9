package store

import (
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/plan"
)

// NoFaults names why no fault struck for each way a run's nemeses can
// fail to: none applied to the target, the schedule was empty, or no
// scheduled fault took effect; and says nothing when one struck or none
// was asked for.
func TestNoFaultsSaysWhyNoFaultStruck(t *testing.T) {
	pause := plan.Plan{Target: "inmemory", Nemeses: []string{"pause"}, TimeLimit: 2 * time.Second, NemesisInterval: 10 * time.Second}
	scheduled := pause
	scheduled.Schedule.Events = []plan.Event{{Nemesis: "pause"}, {Nemesis: "pause"}}
	given := pause
	given.ScheduleFile = "shrunk.json"
	notApplicable := []Note{{Kind: NoteNotApplicable, Text: "Nemesis pause: not applicable: pause acts on server nodes, and target inmemory runs in process."}}
	cases := []struct {
		name   string
		res    RunResult
		struck int
		want   string
	}{
		{"no nemesis", RunResult{Plan: plan.Plan{Target: "redis"}}, 0, ""},
		{"not applicable", RunResult{Plan: pause, Notes: notApplicable}, 0,
			"no fault was scheduled: nemesis pause: not applicable: pause acts on server nodes, and target inmemory runs in process"},
		{"empty schedule", RunResult{Plan: pause}, 0,
			"no fault was scheduled: the time limit 2s ends before the first fault at nemesis-interval 10s"},
		{"empty schedule given", RunResult{Plan: given}, 0,
			"no fault was scheduled: the schedule given, shrunk.json, has none"},
		{"none took effect", RunResult{Plan: scheduled}, 0,
			"none of the 2 scheduled faults took effect (each failed to inject, or the run ended before it)"},
		{"one struck", RunResult{Plan: scheduled}, 1, ""},
		{"history unknown", RunResult{Plan: scheduled}, -1, ""},
		{"history unknown, empty schedule", RunResult{Plan: pause, Notes: notApplicable}, -1,
			"no fault was scheduled: nemesis pause: not applicable: pause acts on server nodes, and target inmemory runs in process"},
	}
	for _, c := range cases {
		if got := NoFaults(&c.res, c.struck); got != c.want {
			t.Errorf("%s: NoFaults = %q, want %q", c.name, got, c.want)
		}
	}
}
