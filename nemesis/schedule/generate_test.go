package schedule

import (
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/plan"
)

// fakePlanner is a test double of a nemesis planner: it draws a node and a
// duration from rng, as real planners must.
type fakePlanner struct{ name string }

func (f fakePlanner) Name() string { return f.name }

func (f fakePlanner) Plan(rng *rand.Rand, p PlanParams) (plan.Event, error) {
	node := p.Nodes[rng.Intn(len(p.Nodes))]
	return plan.Event{Mode: "m", Targets: []string{node}, Duration: p.MaxDuration / 2}, nil
}

func TestSameSeedSameSchedule(t *testing.T) {
	cfg := &plan.Plan{Seed: 7, NemesisInterval: 10 * time.Second, TimeLimit: time.Minute, Nodes: nodes("n1", "n2", "n3")}
	ps := []Planner{fakePlanner{"a"}, fakePlanner{"b"}}
	s1, err := Generate(cfg, ps)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := Generate(cfg, ps)
	if !reflect.DeepEqual(s1, s2) {
		t.Fatalf("same seed, different schedules:\n%v\n%v", s1, s2)
	}
	cfg.Seed = 8
	s3, _ := Generate(cfg, ps)
	if reflect.DeepEqual(s1.Events, s3.Events) {
		t.Error("a different seed gave the very same schedule")
	}
	if len(s1.Events) < 4 {
		t.Fatalf("only %d events in a minute at a 10s interval", len(s1.Events))
	}
	for i, ev := range s1.Events {
		if want := []string{"a", "b"}[i%2]; ev.Nemesis != want {
			t.Errorf("event %d by %s, want %s (planners take turns)", i, ev.Nemesis, want)
		}
		if ev.End() > cfg.TimeLimit {
			t.Errorf("event %d ends at %s, after the time limit", i, ev.End())
		}
		if i > 0 && ev.Start < s1.Events[i-1].End() {
			t.Errorf("event %d starts before event %d ends", i, i-1)
		}
	}
}

func TestNoPlannersNoEventsAndBadInterval(t *testing.T) {
	s, err := Generate(&plan.Plan{Seed: 1, TimeLimit: time.Minute}, nil)
	if err != nil || len(s.Events) != 0 {
		t.Fatalf("Generate with no planners = %v, %v", s, err)
	}
	if _, err := Generate(&plan.Plan{Seed: 1, TimeLimit: time.Minute}, []Planner{fakePlanner{"a"}}); err == nil {
		t.Fatal("a zero interval was accepted")
	}
}

func ExampleGenerate() {
	s, _ := Generate(&plan.Plan{Seed: 1, NemesisInterval: 10 * time.Second, TimeLimit: 30 * time.Second, Nodes: nodes("n1", "n2")},
		[]Planner{fakePlanner{"pause"}})
	for _, ev := range s.Events {
		fmt.Println(ev.Nemesis, ev.Targets, ev.Start.Round(time.Second), ev.Duration)
	}
	// Output:
	// pause [n2] 5s 3s
	// pause [n2] 16s 3s
	// pause [n1] 25s 2.314737837s
}

func nodes(names ...string) []plan.Node {
	out := make([]plan.Node, len(names))
	for i, n := range names {
		out[i] = plan.Node{Name: n}
	}
	return out
}

// CheckRoom refuses exactly the settings under which some seed draws no
// event: below its bound a seed with no fault exists, above it every seed
// draws one.
func TestCheckRoomRefusesSettingsThatMayDrawNoFault(t *testing.T) {
	ps := []Planner{fakePlanner{"a"}}
	events := func(limit, interval time.Duration, seed int64) int {
		s, err := Generate(&plan.Plan{Seed: seed, NemesisInterval: interval, TimeLimit: limit, Nodes: nodes("n1")}, ps)
		if err != nil {
			t.Fatal(err)
		}
		return len(s.Events)
	}
	for _, interval := range []time.Duration{100 * time.Millisecond, time.Second, 4 * time.Second, 10 * time.Second, time.Minute} {
		bound := min(interval/2, 5*time.Second) + interval/10 + interval/4
		if err := CheckRoom(bound, interval); err == nil {
			t.Errorf("interval %s: time limit %s accepted, but a seed may draw no fault", interval, bound)
		}
		if err := CheckRoom(bound+time.Millisecond, interval); err != nil {
			t.Errorf("interval %s: time limit %s refused: %v", interval, bound+time.Millisecond, err)
		}
		for seed := int64(1); seed <= 300; seed++ {
			if n := events(bound+time.Millisecond, interval, seed); n == 0 {
				t.Fatalf("interval %s, time limit %s, seed %d: no event, though CheckRoom accepts it", interval, bound+time.Millisecond, seed)
			}
		}
	}
	// The campaign cell of issue 27: redis, client-pause, 2 s at the
	// default interval drew no event at all.
	err := CheckRoom(2*time.Second, plan.DefaultInterval)
	var fe *plan.FieldError
	if !errors.As(err, &fe) || fe.Field != "time-limit" ||
		fe.Msg != "2s leaves no room for a fault: with nemesis-interval 10s the first fault starts 5s to 6s into the run, and none starts in the last 2.5s; give a time limit above 8.5s, or a shorter nemesis-interval" {
		t.Errorf("CheckRoom(2s, 10s) = %v", err)
	}
	if n := events(2*time.Second, plan.DefaultInterval, 1); n != 0 {
		t.Errorf("2 s at a 10-s interval drew %d events", n)
	}
}
