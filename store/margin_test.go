package store

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/plan"
)

// A margin's results.json round-trips: margin.holds and margin.breaks in
// nanoseconds, the outcome, every step with its runs.
func TestMarginResultRoundTrips(t *testing.T) {
	holds, breaks := 900*time.Millisecond, 1100*time.Millisecond
	m := MarginResult{
		Command: "lockstorm margin --target redis --vary client-pause.stall=200ms..3s --seeds 2",
		Target:  "redis", Nemeses: []string{"client-pause"},
		Vary:  MarginVary{Option: "client-pause.stall", From: 200 * time.Millisecond, To: 3 * time.Second},
		Seeds: []int64{1, 2}, Lease: time.Second,
		Plan:    plan.Plan{Target: "redis", Seed: 1},
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Margin: MarginFound{Outcome: "found", Holds: &holds, Breaks: &breaks, Steps: []MarginStep{
			{Value: 200 * time.Millisecond, Runs: 2, Trials: []Trial{{Seed: 1, Dir: "runs/a/1", Status: checker.Valid}, {Seed: 2, Dir: "runs/a/2", Status: checker.Valid}}},
			{Value: 3 * time.Second, Violations: 2, Runs: 2, Rate: 1, Trials: []Trial{{Seed: 1, Dir: "runs/a/3", Status: checker.Invalid}, {Seed: 2, Dir: "runs/a/4", Status: checker.Invalid}}},
		}},
	}
	dir := t.TempDir()
	if err := WriteJSON(filepath.Join(dir, ResultsFile), m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadMarginResult(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, m)
	}
	b, _ := json.Marshal(m)
	for _, want := range []string{`"holds":900000000`, `"breaks":1100000000`, `"outcome":"found"`, `"lease":1000000000`, `"trials":[{"seed":1,"dir":"runs/a/1","status":"valid"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("results.json lacks %s: %s", want, b)
		}
	}
	if !got.Margin.Steps[1].Trials[0].Broke() || got.Margin.Steps[0].Trials[0].Broke() {
		t.Error("Broke: want true for an invalid run only")
	}
}
