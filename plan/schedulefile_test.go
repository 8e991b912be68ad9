package plan

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const bareSchedule = `{
  "seed": 5,
  "events": [
    {"nemesis": "client-pause", "start": 1000000000, "duration": 2000000000, "params": {"stall": "2s"}},
    {"nemesis": "client-pause", "start": 4000000000, "duration": 1000000000}
  ]
}`

func TestParseScheduleReadsABareSchedule(t *testing.T) {
	s, err := ParseSchedule([]byte(bareSchedule))
	if err != nil {
		t.Fatal(err)
	}
	if s.Seed != 5 || len(s.Events) != 2 || s.Events[0].Params["stall"] != "2s" || s.Events[1].Start != 4*time.Second {
		t.Fatalf("got %+v", s)
	}
}

func TestParseScheduleTakesThePlansScheduleOfAResultsFile(t *testing.T) {
	results := `{"id": "x", "status": "invalid", "command": "lockstorm run",
 "plan": {"target": "redis", "seed": 5,
  "schedule": ` + bareSchedule + `}, "results": []}`
	s, err := ParseSchedule([]byte(results))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Events) != 2 || s.Events[1].Duration != time.Second {
		t.Fatalf("got %+v", s)
	}
}

func TestParseScheduleRefusesBadFilesSayingWhere(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"not JSON", "{\n\"seed\": 1,\n\"events\": [\n}", "line 4: not JSON"},
		{"wrong type", "{\"seed\": 1,\n \"events\": [{\"nemesis\": \"kill\", \"start\": \"1s\", \"duration\": 1}]}", "line 2: events.start: want time.Duration"},
		{"unknown event field", `{"seed": 1, "events": [{"nemesis": "kill", "begin": 1, "duration": 1}]}`, `unknown field "begin"`},
		{"unknown schedule field", `{"seed": 1, "events": [], "extra": 1}`, `unknown field "extra"`},
		{"neither", `{"seed": 1}`, "neither a schedule"},
		{"results without schedule", `{"plan": {"target": "redis"}}`, "plan has no schedule"},
		{"no events list", `{"seed": 1, "events": null}`, "no events list"},
		{"trailing", `{"seed": 1, "events": []} {}`, "not JSON"},
		{"empty", ``, "not JSON: unexpected end"},
		{"array", `[]`, "want map"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSchedule([]byte(tc.in))
			if err == nil || !errors.Is(err, ErrBadSchedule) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrBadSchedule saying %q", err, tc.want)
			}
		})
	}
}

func TestScheduleCheckRefusesEventsTheRunCannotApply(t *testing.T) {
	ev := func(start, dur time.Duration) Event { return Event{Nemesis: "kill", Start: start, Duration: dur} }
	limit := 10 * time.Second
	for _, tc := range []struct {
		name   string
		events []Event
		want   string
	}{
		{"fine", []Event{ev(time.Second, time.Second), ev(3*time.Second, 7*time.Second)}, ""},
		{"overlapping is allowed", []Event{ev(time.Second, 5*time.Second), ev(3*time.Second, time.Second)}, ""},
		{"no nemesis", []Event{{Start: 1, Duration: 1}}, "events[0].nemesis: missing"},
		{"negative start", []Event{ev(-1, time.Second)}, "events[0].start: -1ns is negative"},
		{"start past the limit", []Event{ev(10*time.Second, time.Second)}, "events[0].start: 10s is not within the time limit"},
		{"zero duration", []Event{ev(time.Second, 0)}, "events[0].duration: 0s must be positive"},
		{"past the limit", []Event{ev(time.Second, time.Second), ev(8*time.Second, 3*time.Second)}, "events[1].duration: the fault ends at 11s, after the time limit"},
		{"out of order", []Event{ev(5*time.Second, time.Second), ev(time.Second, time.Second)}, "events[1].start: 1s is before the start of events[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Schedule{Events: tc.events}.Check(limit)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrBadSchedule) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestScheduleUsedListsNemesesInOrderOfFirstUse(t *testing.T) {
	s := Schedule{Events: []Event{{Nemesis: "kill"}, {Nemesis: "pause"}, {Nemesis: "kill"}}}
	if got := strings.Join(s.Used(), ","); got != "kill,pause" {
		t.Fatalf("got %s", got)
	}
}

func TestCommandCarriesTheScheduleFile(t *testing.T) {
	p := Default()
	p.Target, p.Seed, p.ScheduleFile = "redis", 7, "shrunk schedule.json"
	if got := p.Command(); !strings.Contains(got, " --schedule 'shrunk schedule.json' --seed 7") {
		t.Fatalf("got %s", got)
	}
	p.ScheduleFile = ""
	if got := p.Command(); strings.Contains(got, "--schedule") {
		t.Fatalf("got %s", got)
	}
}
