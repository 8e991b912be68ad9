package shrink

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/plan"
)

// twelve is a schedule of 12 faults, one every 5 s, each 2 s long; the
// i-th starts at i*5s+1s.
func twelve() plan.Schedule {
	s := plan.Schedule{Seed: 7}
	for i := 0; i < 12; i++ {
		s.Events = append(s.Events, plan.Event{Nemesis: "client-pause", Start: time.Duration(i)*5*time.Second + time.Second, Duration: 2 * time.Second})
	}
	return s
}

// startOf is the start of twelve's i-th event.
func startOf(i int) time.Duration { return time.Duration(i)*5*time.Second + time.Second }

// fake is an oracle that breaks the lock (rate 1) when need says so, and
// counts its calls.
type fake struct {
	need  func(s plan.Schedule) bool
	calls int
}

func (f *fake) oracle(_ context.Context, s plan.Schedule) (float64, error) {
	f.calls++
	if f.need(s) {
		return 1, nil
	}
	return 0, nil
}

// has reports whether s has an event starting at start lasting at least
// atLeast.
func has(s plan.Schedule, start, atLeast time.Duration) bool {
	for _, ev := range s.Events {
		if ev.Start == start && ev.Duration >= atLeast {
			return true
		}
	}
	return false
}

func TestShrinkFindsTheOneNecessaryFaultAmongTwelve(t *testing.T) {
	f := &fake{need: func(s plan.Schedule) bool { return has(s, startOf(7), 0) }}
	cfg := DefaultConfig()
	cfg.Floor = 2 * time.Second // no shortening: this test is about removal
	res, err := Shrink(context.Background(), twelve(), f.oracle, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Schedule.Events) != 1 || res.Schedule.Events[0].Start != startOf(7) || res.Rate != 1 || res.Schedule.Seed != 7 {
		t.Fatalf("got %+v", res.Schedule)
	}
	if f.calls != len(res.Steps) || f.calls > 20 {
		t.Fatalf("%d oracle calls for %d steps; want one per candidate, and few", f.calls, len(res.Steps))
	}
}

func TestShrinkKeepsTwoFaultsNeededTogether(t *testing.T) {
	f := &fake{need: func(s plan.Schedule) bool { return has(s, startOf(3), 0) && has(s, startOf(9), 0) }}
	cfg := DefaultConfig()
	cfg.Floor = 2 * time.Second
	res, err := Shrink(context.Background(), twelve(), f.oracle, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Schedule.Events; len(got) != 2 || got[0].Start != startOf(3) || got[1].Start != startOf(9) {
		t.Fatalf("got %+v", got)
	}
}

// A fault must last at least 1.3 s to break the lock: the shortened fault
// ends within the precision above that, and the faults that were not
// needed are gone.
func TestShrinkShortensAFaultNoFurtherThanItMustLast(t *testing.T) {
	f := &fake{need: func(s plan.Schedule) bool { return has(s, startOf(4), 1300*time.Millisecond) }}
	cfg := DefaultConfig()
	cfg.Precision = 50 * time.Millisecond
	resized := 0
	cfg.Resize = func(ev plan.Event, d time.Duration) plan.Event {
		resized++
		ev.Duration = d
		ev.Params = map[string]string{"stall": d.String()}
		return ev
	}
	res, err := Shrink(context.Background(), twelve(), f.oracle, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := res.Schedule.Events
	if len(got) != 1 || got[0].Start != startOf(4) {
		t.Fatalf("got %+v", got)
	}
	if d := got[0].Duration; d < 1300*time.Millisecond || d > 1350*time.Millisecond || got[0].Params["stall"] != d.String() || resized == 0 {
		t.Fatalf("duration %s (params %v), want 1.3s..1.35s through Resize", d, got[0].Params)
	}
}

// A fault that breaks the lock however short it is goes down to the floor.
func TestShrinkShortensToTheFloor(t *testing.T) {
	f := &fake{need: func(s plan.Schedule) bool { return has(s, startOf(0), 0) }}
	res, err := Shrink(context.Background(), twelve(), f.oracle, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Schedule.Events; len(got) != 1 || got[0].Duration != 100*time.Millisecond {
		t.Fatalf("got %+v", got)
	}
}

// A lock that breaks with no fault at all shrinks to the empty schedule.
func TestShrinkToNoFaultWhenTheLockBreaksAnyway(t *testing.T) {
	f := &fake{need: func(plan.Schedule) bool { return true }}
	res, err := Shrink(context.Background(), twelve(), f.oracle, DefaultConfig())
	if err != nil || len(res.Schedule.Events) != 0 || len(res.Steps) != 3 || res.Steps[2].Phase != PhaseConfirm || !res.Confirmed || res.Rounds != 2 {
		t.Fatalf("got %v, %+v", err, res)
	}
}

// A shortening ends at the edge, where a fault that broke the lock in one
// round of replays may not in the next (a redis client-pause of 219 ms
// broke 3 of 3, then 0 of 1 as run --schedule): the schedule found is
// replayed once more, and when it does not keep its rate the next larger
// schedule kept is taken.
func TestShrinkConfirmsTheEdgeAndStepsBackWhenItDoesNotHold(t *testing.T) {
	asked := map[time.Duration]int{}
	oracle := func(_ context.Context, s plan.Schedule) (float64, error) {
		d := time.Duration(-1)
		for _, ev := range s.Events {
			if ev.Start == startOf(7) {
				d = ev.Duration
			}
		}
		asked[d]++
		switch {
		case d >= time.Second:
			return 1, nil
		case d >= 500*time.Millisecond && asked[d] == 1:
			return 1, nil // breaks once, by luck
		}
		return 0, nil
	}
	res, err := Shrink(context.Background(), twelve(), oracle, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Schedule.Events) != 1 || res.Schedule.Events[0].Duration < time.Second || !res.Confirmed || res.Rounds != 2 || res.Rate != 1 {
		t.Fatalf("got %+v", res)
	}
	var confirms []Step
	for _, st := range res.Steps {
		if st.Phase == PhaseConfirm {
			confirms = append(confirms, st)
		}
	}
	last := len(confirms) - 1
	if last < 1 || !confirms[last].Kept {
		t.Fatalf("confirmations: %+v; want the lucky ones refused, then one kept", confirms)
	}
	for _, c := range confirms[:last] {
		if c.Kept || c.Schedule.Events[0].Duration >= time.Second {
			t.Fatalf("confirmations: %+v; want the lucky ones refused, then one kept", confirms)
		}
	}

	// Without Confirm the lucky edge is taken.
	asked = map[time.Duration]int{}
	cfg := DefaultConfig()
	cfg.Confirm = false
	res, err = Shrink(context.Background(), twelve(), oracle, cfg)
	if err != nil || res.Schedule.Events[0].Duration >= time.Second || res.Rounds != 1 {
		t.Fatalf("without Confirm: %v, %+v", err, res.Schedule)
	}
}

// The threshold is a rate: a candidate at 2 of 3 is kept at 2/3, one at 1
// of 3 is not.
func TestShrinkKeepsCandidatesAtTheThresholdRate(t *testing.T) {
	oracle := func(_ context.Context, s plan.Schedule) (float64, error) {
		switch {
		case has(s, startOf(2), 0):
			return 2.0 / 3, nil
		case has(s, startOf(5), 0):
			return 1.0 / 3, nil
		}
		return 0, nil
	}
	cfg := DefaultConfig()
	cfg.Floor = 2 * time.Second
	res, err := Shrink(context.Background(), twelve(), oracle, cfg)
	if err != nil || len(res.Schedule.Events) != 1 || res.Schedule.Events[0].Start != startOf(2) || res.Rate != 2.0/3 {
		t.Fatalf("got %v, %+v", err, res.Schedule)
	}
}

func TestShrinkIsDeterministic(t *testing.T) {
	run := func() Result {
		f := &fake{need: func(s plan.Schedule) bool { return has(s, startOf(3), 700*time.Millisecond) && has(s, startOf(10), 0) }}
		res, err := Shrink(context.Background(), twelve(), f.oracle, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := run(), run()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two searches with the same oracle differ")
	}
}

func TestShrinkRefusesAScheduleThatDoesNotBreak(t *testing.T) {
	f := &fake{need: func(plan.Schedule) bool { return false }}
	res, err := Shrink(context.Background(), twelve(), f.oracle, DefaultConfig())
	if !errors.Is(err, ErrDoesNotBreak) || f.calls != 1 || len(res.Schedule.Events) != 0 {
		t.Fatalf("got %v after %d calls", err, f.calls)
	}
}

// An error of the oracle stops the search, with the smallest schedule
// found so far.
func TestShrinkStopsOnAnOracleError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	oracle := func(_ context.Context, s plan.Schedule) (float64, error) {
		calls++
		if calls == 4 {
			return 0, boom
		}
		if has(s, startOf(0), 0) {
			return 1, nil
		}
		return 0, nil
	}
	_, err := Shrink(context.Background(), twelve(), oracle, DefaultConfig())
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Shrink(ctx, twelve(), oracle, DefaultConfig()); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Threshold: 0, Floor: 1, Precision: 1}, {Threshold: 1.5, Floor: 1, Precision: 1}, {Threshold: 1, Precision: 1}, {Threshold: 1, Floor: 1}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func ExampleShrink() {
	s := twelve()
	oracle := func(_ context.Context, c plan.Schedule) (float64, error) {
		if has(c, startOf(5), 900*time.Millisecond) {
			return 1, nil
		}
		return 0, nil
	}
	res, _ := Shrink(context.Background(), s, oracle, DefaultConfig())
	for _, ev := range res.Schedule.Events {
		fmt.Println(ev.Nemesis, ev.Start, ev.Duration)
	}
	// Output: client-pause 26s 931.25ms
}
